// The Ollama backend: a local or remote Ollama server over HTTP through the `ollama` package.
// Refs are `ollama:<tag>`. Errors are mapped to InferenceError with what a person should do.
import { Ollama, type ChatResponse, type ProgressResponse } from 'ollama';
import type { Logger } from '../../logging/logger.ts';
import { isLoopbackUrl } from '../router-privacy.ts';
import { InferenceError, type ChatChunk, type ChatRequest, type EnsureOptions, type InferenceBackend, type ModelInfo, type ProgressEvent } from '../types.ts';
import { mapOllamaError, pullHint } from './ollama-errors.ts';

export const OLLAMA_PREFIX = 'ollama:';

export interface OllamaBackendOptions {
  /** Base URL, e.g. http://127.0.0.1:11434. */
  host: string;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Milliseconds for the small calls (version, tags, show, ps). */
  requestTimeoutMs?: number;
  now?: () => number;
}

export function ollamaTag(ref: string): string {
  return ref.startsWith(OLLAMA_PREFIX) ? ref.slice(OLLAMA_PREFIX.length) : ref;
}

export class OllamaBackend implements InferenceBackend {
  readonly kind = 'ollama' as const;
  readonly host: string;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: OllamaBackendOptions) {
    this.host = options.host.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? fetch;
    this.#logger = options.logger;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** A client whose every request carries `signal`: ollama-js passes no signal on its plain calls. */
  #client(signal?: AbortSignal): Ollama {
    const base = this.#fetch;
    return new Ollama({
      host: this.host,
      fetch: (input, init) => base(input, { ...init, signal: init?.signal && signal ? AbortSignal.any([init.signal, signal]) : (init?.signal ?? signal) }),
    });
  }

  #timed(signal?: AbortSignal): AbortSignal {
    const t = AbortSignal.timeout(this.#timeoutMs);
    return signal ? AbortSignal.any([signal, t]) : t;
  }

  handles(model: string): boolean {
    return model.startsWith(OLLAMA_PREFIX);
  }

  isLocal(_model: string): boolean {
    return isLoopbackUrl(this.host);
  }

  /** Detects the server; throws BackendUnavailable (not running) or BadResponse (not Ollama). */
  async detect(signal?: AbortSignal): Promise<{ version: string; url: string }> {
    const s = this.#timed(signal);
    try {
      const { version } = await this.#client(s).version();
      if (typeof version !== 'string') throw new InferenceError('BadResponse', `${this.host} answered /api/version without a version: it does not look like Ollama.`);
      return { version, url: this.host };
    } catch (err) {
      throw mapOllamaError(err, { host: this.host, signal: s, what: 'detect the Ollama server' });
    }
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const s = this.#timed(signal);
    try {
      const client = this.#client(s);
      const [tags, ps] = await Promise.all([client.list(), client.ps().catch(() => ({ models: [] }))]);
      const loaded = new Set(ps.models.map((m) => m.name));
      return tags.models.map((m) => ({
        ref: `${OLLAMA_PREFIX}${m.name}`,
        name: m.name,
        backend: 'ollama',
        source: 'ollama',
        location: this.host,
        sizeBytes: m.size,
        loaded: loaded.has(m.name),
        local: this.isLocal(m.name),
      }));
    } catch (err) {
      throw mapOllamaError(err, { host: this.host, signal: s, what: 'list the Ollama models' });
    }
  }

  /** True when the server has the model (POST /api/show answers). */
  async hasModel(ref: string, signal?: AbortSignal): Promise<boolean> {
    const s = this.#timed(signal);
    try {
      await this.#client(s).show({ model: ollamaTag(ref) });
      return true;
    } catch (err) {
      const mapped = mapOllamaError(err, { host: this.host, signal: s, what: 'look up the model', tag: ollamaTag(ref) });
      if (mapped.code === 'ModelNotFound') return false;
      throw mapped;
    }
  }

  /** Pulls the model with streamed progress; aborting the signal closes the stream, which cancels the pull. */
  async pull(ref: string, options: EnsureOptions = {}): Promise<void> {
    const tag = ollamaTag(ref);
    const { signal, onProgress } = options;
    try {
      const stream = await this.#client(signal).pull({ model: tag, stream: true });
      const onAbort = () => stream.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const p of stream) onProgress?.(toProgress(p));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      this.#logger?.info({ model: tag, host: this.host }, 'ollama pull finished');
    } catch (err) {
      throw mapOllamaError(err, { host: this.host, signal, what: `pull ${tag}`, tag, pulling: true });
    }
  }

  async ensureModel(ref: string, options: EnsureOptions = {}): Promise<void> {
    if (await this.hasModel(ref, options.signal)) return;
    await this.pull(ref, options);
  }

  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    const tag = ollamaTag(request.model);
    const { signal } = request;
    const started = this.#now();
    let text = '';
    let received = 0;
    let firstAt: number | undefined;
    let final: ChatResponse | undefined;
    try {
      const stream = await this.#client(signal).chat({
        model: tag,
        messages: request.messages.map((m) => ({ role: m.role, content: m.name && m.role === 'user' ? `${m.name}: ${m.content}` : m.content })),
        stream: true,
        ...(request.keepAliveSeconds !== undefined ? { keep_alive: request.keepAliveSeconds < 0 ? -1 : request.keepAliveSeconds } : {}),
        options: samplingOptions(request),
      });
      const onAbort = () => stream.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const part of stream) {
          received++;
          if (part.done) {
            final = part;
            break;
          }
          const piece = part.message?.content ?? '';
          if (piece === '') continue;
          firstAt ??= this.#now();
          text += piece;
          yield { type: 'text', text: piece, tokens: 1 };
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!final) stream.abort();
      }
    } catch (err) {
      throw mapOllamaError(err, { host: this.host, signal, what: `chat with ${tag}`, tag, receivedChars: text.length, receivedParts: received });
    }
    const end = this.#now();
    const evalCount = final?.eval_count ?? 0;
    const evalSeconds = (final?.eval_duration ?? 0) / 1e9;
    yield {
      type: 'done',
      text,
      stats: {
        promptTokens: final?.prompt_eval_count ?? 0,
        completionTokens: evalCount,
        timeToFirstTokenMs: (firstAt ?? end) - started,
        tokensPerSecond: evalSeconds > 0 ? evalCount / evalSeconds : 0,
        totalMs: end - started,
        backend: 'ollama',
        model: request.model,
      },
    };
  }

  /** Ollama has no tokenizer endpoint: about four characters a token, as its docs estimate. */
  async countTokens(_model: string, text: string): Promise<number> {
    return Math.ceil(text.length / 4);
  }

  async close(): Promise<void> {
    // Nothing to release: each request owns its connection and is aborted through its signal.
  }

  /** The hint a missing model shows, for callers that want to say it up front. */
  static pullHint(ref: string): string {
    return pullHint(ollamaTag(ref));
  }
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

function toProgress(p: ProgressResponse): ProgressEvent {
  const total = p.total || undefined;
  const done = p.completed || undefined;
  return {
    status: p.status,
    ...(total !== undefined ? { totalBytes: total } : {}),
    ...(done !== undefined ? { transferredBytes: done } : {}),
    ...(total !== undefined ? { fraction: Math.min(1, (done ?? 0) / total) } : {}),
  };
}
