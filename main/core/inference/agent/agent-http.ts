// An agent behind an HTTP endpoint: POST {prompt} as JSON, its answer streamed back as text (or as server-sent
// events whose data is the text), under the same time limit, output cap and stop as a program.
import type { AgentSettings } from '../../../common/settings-tools.ts';
import { sseData } from '../openai/openai-http.ts';
import { InferenceError } from '../types.ts';

export interface AgentHttpRun {
  agent: AgentSettings;
  prompt: string;
  /** Resolved agents[].env: sent as request headers (an Authorization header, an API key). */
  env: Record<string, string>;
  signal: AbortSignal | undefined;
  fetch: typeof fetch;
}

export async function* runAgentHttp(run: AgentHttpRun): AsyncGenerator<string> {
  const { agent } = run;
  const timeout = AbortSignal.timeout(agent.timeoutMs);
  const signal = run.signal ? AbortSignal.any([run.signal, timeout]) : timeout;
  const fail = (err: unknown): InferenceError => {
    if (err instanceof InferenceError) return err;
    if (run.signal?.aborted) return new InferenceError('Aborted', `The agent "${agent.id}" was stopped.`);
    if (timeout.aborted)
      return new InferenceError('Timeout', `The agent "${agent.id}" ran past its time limit (${agent.timeoutMs} ms).`);
    return new InferenceError(
      'BackendUnavailable',
      `Cannot reach the agent "${agent.id}" at ${agent.url}: ${err instanceof Error ? err.message : String(err)}.`,
    );
  };
  let bytes = 0;
  try {
    const res = await run.fetch(agent.url as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream, text/plain', ...run.env },
      body: JSON.stringify({ prompt: run.prompt }),
      signal,
    });
    if (!res.ok || !res.body)
      throw new InferenceError(
        'BackendUnavailable',
        `The agent "${agent.id}" at ${agent.url} answered HTTP ${res.status}: ${(await res.text().catch(() => '')).slice(0, 200)}`,
      );
    const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
    const pieces = sse ? sseData(res.body) : textPieces(res.body);
    for await (const piece of pieces) {
      if (piece === '[DONE]') break;
      bytes += Buffer.byteLength(piece);
      if (bytes > agent.maxOutputBytes)
        throw new InferenceError(
          'BadResponse',
          `The agent "${agent.id}" wrote more than ${agent.maxOutputBytes} bytes and was stopped.`,
        );
      yield piece;
    }
  } catch (err) {
    throw fail(err);
  }
}

async function* textPieces(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const s = decoder.decode(value, { stream: true });
      if (s) yield s;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } finally {
    reader.releaseLock();
  }
}
