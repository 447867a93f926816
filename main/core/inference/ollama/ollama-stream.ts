// One chat on one Ollama endpoint: NDJSON through ollama-js, num_ctx for the prompt budget, and a watchdog
// (a load limit until the first token, an idle limit after) whose abort closes the HTTP request.
import type { ChatResponse, Message, Ollama, Tool } from 'ollama';
import type { AttemptProgress } from '../endpoint-failover.ts';
import { generationStats } from '../generation-stats.ts';
import { StreamWatchdog } from '../stream-watchdog.ts';
import type { ChatChunk, ChatMessage, ChatRequest, ToolCall } from '../types.ts';
import { mapOllamaError } from './ollama-errors.ts';

export interface OllamaEndpoint {
  id: string;
  url: string;
  /** Sent as num_ctx; default DEFAULT_OLLAMA_CONTEXT. */
  contextTokens?: number;
  /** No token for this long once they flow ends the reply; default DEFAULT_OLLAMA_IDLE_MS. */
  idleTimeoutMs?: number;
  /** The same until the first token (the model loads and reads the prompt); default DEFAULT_OLLAMA_LOAD_MS. */
  loadTimeoutMs?: number;
}

/** Room for the default prompt budget (3072) and a long answer; Ollama caps it at the model's trained context. */
export const DEFAULT_OLLAMA_CONTEXT = 8192;
export const DEFAULT_OLLAMA_IDLE_MS = 60_000;
/** Ollama's own limit for loading a model (OLLAMA_LOAD_TIMEOUT) is 5 minutes. */
export const DEFAULT_OLLAMA_LOAD_MS = 300_000;

export interface OllamaChatOnce {
  ep: OllamaEndpoint;
  /** Index in settings, for the hint's path. */
  index: number;
  tag: string;
  request: ChatRequest;
  progress: AttemptProgress;
  client: (signal: AbortSignal) => Ollama;
  now: () => number;
}

export async function* ollamaChatOnce(o: OllamaChatOnce): AsyncGenerator<ChatChunk> {
  const { ep, tag, request, progress } = o;
  const started = o.now();
  const host = ep.url.replace(/\/+$/, '');
  const dog = new StreamWatchdog(
    { firstTokenMs: ep.loadTimeoutMs ?? DEFAULT_OLLAMA_LOAD_MS, idleMs: ep.idleTimeoutMs ?? DEFAULT_OLLAMA_IDLE_MS },
    {
      where: `Ollama at ${host} (${tag})`,
      settingsPath: `endpoints.ollama[${o.index}] (id "${ep.id}")`,
      firstTokenSetting: 'loadTimeoutMs',
      idleSetting: 'idleTimeoutMs',
    },
  );
  const signal = request.signal ? AbortSignal.any([request.signal, dog.signal]) : dog.signal;
  let text = '';
  let received = 0;
  let firstAt: number | undefined;
  let final: ChatResponse | undefined;
  const calls: ToolCall[] = [];
  try {
    const stream = await o.client(signal).chat({
      model: tag,
      messages: request.messages.map(ollamaMessage),
      stream: true,
      ...(request.tools?.length ? { tools: request.tools.map(ollamaTool) } : {}),
      // A JSON schema as `format`: Ollama holds generation to it.
      ...(request.jsonSchema ? { format: request.jsonSchema } : {}),
      ...(request.keepAliveSeconds !== undefined
        ? { keep_alive: request.keepAliveSeconds < 0 ? -1 : request.keepAliveSeconds }
        : {}),
      options: { ...samplingOptions(request), num_ctx: ep.contextTokens ?? DEFAULT_OLLAMA_CONTEXT },
    });
    const onAbort = () => stream.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const part of stream) {
        received++;
        if (addToolCalls(part, calls)) dog.tick(0);
        if (part.done) {
          final = part;
          break;
        }
        const piece = part.message?.content ?? '';
        if (piece === '') continue;
        dog.tick(piece.length);
        firstAt ??= o.now();
        text += piece;
        progress.chars = text.length;
        yield { type: 'text', text: piece, tokens: 1 };
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (!final) stream.abort();
    }
  } catch (err) {
    if (dog.error && !request.signal?.aborted) throw dog.error;
    throw mapOllamaError(err, {
      host,
      signal: request.signal,
      what: `chat with ${tag}`,
      tag,
      receivedChars: text.length,
      receivedParts: received,
    });
  } finally {
    dog.stop();
  }
  if (calls.length > 0) yield { type: 'tool_calls', calls };
  const stats = generationStats({
    backend: 'ollama',
    model: request.model,
    startedAt: started,
    firstTokenAt: firstAt,
    endedAt: o.now(),
    promptTokens: final?.prompt_eval_count ?? 0,
    completionTokens: final?.eval_count ?? 0,
    // Ollama measures its own decoding time (ns): the rate it reports, without the network in between.
    generationSeconds: (final?.eval_duration ?? 0) / 1e9,
  });
  yield { type: 'done', text, stats };
}

/** The part's tool calls added to `calls` (Ollama gives no call ids, and the arguments as an object); any added. */
function addToolCalls(part: ChatResponse, calls: ToolCall[]): boolean {
  for (const c of part.message?.tool_calls ?? [])
    calls.push({
      id: `call_${calls.length}`,
      name: c.function.name,
      arguments: JSON.stringify(c.function.arguments ?? {}),
    });
  return (part.message?.tool_calls?.length ?? 0) > 0;
}

/** A message as Ollama takes it: named speakers in the text, a tool's result by tool name, calls with object arguments. */
function ollamaMessage(m: ChatMessage): Message {
  if (m.role === 'tool') return { role: 'tool', content: m.content, ...(m.toolName ? { tool_name: m.toolName } : {}) };
  const content =
    m.name && m.role === 'user' && !m.content.startsWith(`${m.name}: `) ? `${m.name}: ${m.content}` : m.content;
  // Ollama's `images`: base64 of each image, on the message that shows it.
  const images = m.images?.length ? { images: m.images.map((i) => Buffer.from(i.data).toString('base64')) } : {};
  if (m.role !== 'assistant' || !m.toolCalls?.length) return { role: m.role, content, ...images };
  return {
    role: 'assistant',
    content,
    tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: argumentsObject(c.arguments) } })),
  };
}

/** The call's JSON arguments as an object; what does not parse to one goes as {} (the tool's result says why). */
function argumentsObject(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function ollamaTool(t: { name: string; description?: string; parameters: Record<string, unknown> }): Tool {
  return {
    type: 'function',
    function: {
      name: t.name,
      description: t.description ?? '',
      parameters: t.parameters as Tool['function']['parameters'],
    },
  };
}

function samplingOptions(request: ChatRequest): Record<string, unknown> {
  const s = request.sampling ?? {};
  const o: Record<string, unknown> = {};
  if (s.temperature !== undefined) o.temperature = s.temperature;
  if (s.maxTokens !== undefined) o.num_predict = s.maxTokens;
  if (s.topP !== undefined) o.top_p = s.topP;
  if (s.seed !== undefined) o.seed = s.seed;
  if (s.stop !== undefined) o.stop = s.stop;
  return o;
}
