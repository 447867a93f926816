// HTTP details of OpenAI-compatible servers: error bodies and status codes mapped to InferenceError,
// and the SSE stream of /v1/chat/completions parsed with eventsource-parser.
import { createParser } from 'eventsource-parser';
import { parseRetryAfter } from '../retry.ts';
import { InferenceError } from '../types.ts';

/** One piece of a streamed tool call: the first names it (id, function name), the rest add to its arguments. */
export interface ToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface OpenAIChunk {
  choices?: Array<{
    delta?: { content?: string | null; tool_calls?: ToolCallDelta[] | null };
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

/** Reads the `message` of an OpenAI error body ({error:{message,type,param,code}}), or the raw text. */
export function errorBodyMessage(text: string): { message: string; code?: string } {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; code?: unknown } | string; message?: unknown };
    if (typeof body.error === 'string') return { message: body.error };
    if (body.error && typeof body.error.message === 'string') {
      return { message: body.error.message, ...(typeof body.error.code === 'string' ? { code: body.error.code } : {}) };
    }
    if (typeof body.message === 'string') return { message: body.message };
  } catch {
    // not JSON: fall through to the text
  }
  return { message: text.slice(0, 200) || '(empty body)' };
}

/** Maps a non-2xx response to an InferenceError: 429 → RateLimited (with Retry-After), 5xx → BackendUnavailable. */
export async function errorFromResponse(
  res: Response,
  where: string,
  model: string,
  now: number,
): Promise<InferenceError> {
  const text = await res.text().catch(() => '');
  const { message, code } = errorBodyMessage(text);
  const status = res.status;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now);
    return new InferenceError('RateLimited', `${where} is rate limiting requests (HTTP 429): ${message}`, {
      retryAfterMs,
    });
  }
  if (status === 401 || status === 403) {
    return new InferenceError('BadResponse', `${where} refused the API key (HTTP ${status}): ${message}`, {
      hint: "Check the endpoint's API key in settings (or the environment variable it names).",
    });
  }
  if (status === 404 && (code === 'model_not_found' || /model/i.test(message))) {
    return new InferenceError('ModelNotFound', `${where} has no model "${model}": ${message}`, {
      hint: "Check the model name against the endpoint's model list (agent-room models).",
    });
  }
  if (status >= 500) return new InferenceError('BackendUnavailable', `${where} failed (HTTP ${status}): ${message}`);
  return new InferenceError('BadResponse', `${where} rejected the request (HTTP ${status}): ${message}`);
}

/** Maps a thrown fetch/stream error; `signal` tells a stop by the caller from a timeout. */
export function errorFromThrown(
  err: unknown,
  where: string,
  ctx: { callerSignal?: AbortSignal; timedOut: boolean; timeoutMs: number; receivedChars: number },
): InferenceError {
  if (err instanceof InferenceError) return err;
  if (ctx.callerSignal?.aborted)
    return new InferenceError('Aborted', `Stopped the request to ${where}.`, { cause: err });
  if (ctx.timedOut) {
    return new InferenceError(
      'Timeout',
      `${where} sent nothing for ${ctx.timeoutMs} ms${ctx.receivedChars ? ` after ${ctx.receivedChars} characters` : ''}.`,
      { cause: err },
    );
  }
  if (ctx.receivedChars > 0) {
    return new InferenceError(
      'BackendUnavailable',
      `${where} closed the connection mid-stream after ${ctx.receivedChars} characters; the reply is incomplete.`,
      { cause: err },
    );
  }
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return new InferenceError(
    'BackendUnavailable',
    `Cannot reach ${where}${code}: ${err instanceof Error ? err.message : String(err)}.`,
    { cause: err },
  );
}

/** The `data` of each SSE event in a response body, in order. */
export async function* sseData(body: ReadableStream<Uint8Array>, onBytes?: () => void): AsyncGenerator<string> {
  const queue: string[] = [];
  const parser = createParser({ onEvent: (event) => queue.push(event.data) });
  const decoder = new TextDecoder();
  // A reader, not for-await: the DOM typings of ReadableStream (used by the test build) lack the iterator.
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onBytes?.();
      parser.feed(decoder.decode(value, { stream: true }));
      while (queue.length > 0) yield queue.shift() as string;
    }
  } finally {
    reader.releaseLock();
  }
  parser.feed(decoder.decode());
  while (queue.length > 0) yield queue.shift() as string;
}

/** Parses one data payload; garbage is a BadResponse naming the server. */
export function parseChunk(data: string, where: string): OpenAIChunk {
  try {
    const v = JSON.parse(data) as unknown;
    if (v && typeof v === 'object') return v as OpenAIChunk;
  } catch {
    // fall through
  }
  return (() => {
    throw new InferenceError(
      'BadResponse',
      `${where} sent a stream event that is not an OpenAI chunk: ${JSON.stringify(data.slice(0, 60))}.`,
    );
  })();
}

/** What a completion stream said besides its text: whether it ended properly, and the token counts it gave. */
export interface CompletionEnd {
  finished: boolean;
  usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
  /** Tool calls put together from their deltas, by index; absent when the model called none. */
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
}

/** Adds one streamed tool-call delta to the calls so far (OpenAI streams a call's arguments in pieces). */
export function addToolCallDelta(end: CompletionEnd, d: ToolCallDelta, where: string): void {
  const calls = (end.toolCalls ??= []);
  const index = typeof d.index === 'number' ? d.index : calls.length - (d.id ? 0 : 1);
  if (index < 0 || index > 127)
    throw new InferenceError('BadResponse', `${where} sent a tool call delta with no call to add it to.`);
  const call = (calls[index] ??= { id: '', name: '', arguments: '' });
  if (d.id) call.id = d.id;
  if (d.function?.name) call.name += d.function.name;
  if (d.function?.arguments) call.arguments += d.function.arguments;
}

/**
 * The text pieces of a /chat/completions stream, in order; `end` learns of [DONE] or a finish_reason, and of the
 * usage chunk. An error chunk mid-stream throws BackendUnavailable, garbage BadResponse.
 */
export async function* completionPieces(
  body: ReadableStream<Uint8Array>,
  where: string,
  end: CompletionEnd,
): AsyncGenerator<string> {
  for await (const data of sseData(body)) {
    if (data === '[DONE]') {
      end.finished = true;
      return;
    }
    const chunk = parseChunk(data, where);
    if (chunk.error)
      throw new InferenceError(
        'BackendUnavailable',
        `${where} reported an error mid-stream: ${chunk.error.message ?? 'unknown'}.`,
      );
    if (chunk.usage) end.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (choice?.finish_reason) end.finished = true;
    const deltas = choice?.delta?.tool_calls ?? [];
    for (const d of deltas) addToolCallDelta(end, d, where);
    const piece = choice?.delta?.content;
    // A tool call's piece is '' here: no text, but the stream is alive (the watchdog hears of it).
    if (piece || deltas.length > 0) yield piece ?? '';
  }
}

/** OpenAI's rule for a message's `name`: letters, digits, _ and -, at most 64. */
export function sanitizeName(name: string): string | undefined {
  const cleaned = name
    .normalize('NFKD')
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
  return cleaned.length > 0 ? cleaned : undefined;
}
