// The OpenAI-compatible backend (OpenAI, vLLM, llama.cpp server, remote Ollama's /v1): refs are
// `openai:<endpointId>/<model>`. Per endpoint: API key, token-bucket rate limit, retries on 429/5xx
// before any text (the request itself: openai-request.ts), a first-token and an idle limit (stream-watchdog.ts), and
// failover along the failover list with health tracking (endpoint-failover.ts, shared with the Ollama backend).
import type { Logger } from '../../logging/logger.ts';
import { EndpointFailover, type AttemptProgress, type EndpointHealth } from '../endpoint-failover.ts';
import { generationStats } from '../generation-stats.ts';
import { DEFAULT_CONTEXT_WINDOW } from '../prompt-budget.ts';
import { systemClock, TokenBucket, type Clock } from '../rate-limit.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry.ts';
import { isLoopbackUrl } from '../router-privacy.ts';
import type { StreamWatchdog } from '../stream-watchdog.ts';
import {
  InferenceError,
  type ChatChunk,
  type ChatRequest,
  type ContextWindow,
  type EnsureOptions,
  type InferenceBackend,
  type ModelInfo,
} from '../types.ts';
import { completionPieces, errorFromResponse, errorFromThrown, type CompletionEnd } from './openai-http.ts';
import { postCompletion, requestHeaders, type Attempt } from './openai-request.ts';

export const OPENAI_PREFIX = 'openai:';
/** Between tokens, once they flow, when the endpoint sets no idleTimeoutMs. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export type { EndpointHealth };

export interface OpenAIEndpoint {
  id: string;
  /** Base URL up to and including /v1. */
  url: string;
  apiKeyRef?: string;
  requestsPerMinute: number;
  /** Until the first token (and for each retried connection). */
  timeoutMs: number;
  /** Between tokens once they flow; default DEFAULT_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** The models' context in tokens, for the prompt budget; default DEFAULT_CONTEXT_WINDOW's. */
  contextTokens?: number;
  failover: string[];
  /** Models that take images (`image_url` parts), by name; `*` for all. */
  vision?: string[];
  /** A paired peer's certificate, SHA-256 hex: requests go through `fetchFor`, which pins it. */
  fingerprint?: string;
  /** Whether the privacy check counts it as this machine; unset: only loopback URLs do (a peer: trusted-local). */
  local?: boolean;
  /** Retries before the failover list and the router's fallbacks take over; default: the backend's policy. */
  retry?: RetryPolicy;
}

export interface OpenAIBackendOptions {
  /** Read on every call, so settings changes apply at once (settings.endpoints.openai). */
  getEndpoints: () => OpenAIEndpoint[];
  /** Resolves a secret name to the key (the secret store); `env:VAR` refs are read from `env` here. */
  resolveSecret?: (ref: string) => Promise<string | undefined>;
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  clock?: Clock;
  logger?: Logger;
  retry?: RetryPolicy;
  /** After a failure an endpoint goes to the end of the failover order for this long. */
  unhealthyForMs?: number;
  /** The fetch for one endpoint (a peer's pins its certificate); undefined: `fetch`. */
  fetchFor?: (ep: OpenAIEndpoint) => typeof fetch | undefined;
}

export function parseOpenAIRef(ref: string): { endpointId: string; model: string } {
  const rest = ref.startsWith(OPENAI_PREFIX) ? ref.slice(OPENAI_PREFIX.length) : ref;
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    throw new InferenceError('ModelNotFound', `"${ref}" is not an OpenAI-compatible model reference.`, {
      hint: 'Write it as openai:<endpoint id>/<model>, e.g. openai:cloud/gpt-4o-mini.',
    });
  }
  return { endpointId: rest.slice(0, slash), model: rest.slice(slash + 1) };
}

export class OpenAIBackend implements InferenceBackend {
  readonly kind = 'openai' as const;
  readonly #o: OpenAIBackendOptions;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { rpm: number; bucket: TokenBucket }>();
  readonly #failover: EndpointFailover<OpenAIEndpoint>;

  constructor(options: OpenAIBackendOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
    this.#clock = options.clock ?? systemClock;
    this.#failover = new EndpointFailover({
      kind: 'openai',
      clock: this.#clock,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.unhealthyForMs !== undefined ? { unhealthyForMs: options.unhealthyForMs } : {}),
    });
  }

  handles(model: string): boolean {
    return model.startsWith(OPENAI_PREFIX);
  }

  #endpoint(id: string): OpenAIEndpoint | undefined {
    return this.#o.getEndpoints().find((e) => e.id === id);
  }

  /** The endpoint and its failover list, known ones only, without repeats. */
  #chain(id: string): OpenAIEndpoint[] {
    const first = this.#endpoint(id);
    if (!first) return [];
    const out = [first];
    for (const f of first.failover) {
      const e = this.#endpoint(f);
      if (e && !out.includes(e)) out.push(e);
    }
    return out;
  }

  /** Local only when the endpoint and every endpoint it fails over to are loopback (or a peer trusted as local). */
  isLocal(model: string): boolean {
    try {
      const chain = this.#chain(parseOpenAIRef(model).endpointId);
      return chain.length > 0 && chain.every((e) => e.local ?? isLoopbackUrl(e.url));
    } catch {
      return false;
    }
  }

  /** Whether the model takes images: named (or `*`) in its endpoint's `vision` setting. */
  async canSeeImages(ref: string): Promise<boolean> {
    try {
      const { endpointId, model } = parseOpenAIRef(ref);
      const vision = this.#endpoint(endpointId)?.vision ?? [];
      return vision.includes('*') || vision.includes(model);
    } catch {
      return false;
    }
  }

  health(): EndpointHealth[] {
    return this.#failover.health();
  }

  #bucket(ep: OpenAIEndpoint): TokenBucket {
    const b = this.#buckets.get(ep.id);
    if (b && b.rpm === ep.requestsPerMinute) return b.bucket;
    const bucket = new TokenBucket({ perMinute: ep.requestsPerMinute, clock: this.#clock });
    this.#buckets.set(ep.id, { rpm: ep.requestsPerMinute, bucket });
    return bucket;
  }

  #fetchOf(ep: OpenAIEndpoint): typeof fetch {
    return this.#o.fetchFor?.(ep) ?? this.#fetch;
  }

  #headers(ep: OpenAIEndpoint): Promise<Record<string, string>> {
    return requestHeaders(ep, this.#o.env ?? process.env, this.#o.resolveSecret);
  }

  /** GET /models on one endpoint; records its health. */
  async checkHealth(
    endpointId: string,
    signal?: AbortSignal,
  ): Promise<{ ok: true; models: string[] } | { ok: false; error: InferenceError }> {
    const ep = this.#endpoint(endpointId);
    if (!ep)
      return { ok: false, error: new InferenceError('BackendUnavailable', `No endpoint "${endpointId}" in settings.`) };
    const where = `endpoint "${ep.id}" (${ep.url})`;
    const timeout = AbortSignal.timeout(Math.min(ep.timeoutMs, 10_000));
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const res = await this.#fetchOf(ep)(`${ep.url.replace(/\/+$/, '')}/models`, {
        headers: await this.#headers(ep),
        signal: s,
      });
      if (!res.ok) throw await errorFromResponse(res, where, '', this.#clock.now());
      const body = (await res.json().catch(() => undefined)) as { data?: Array<{ id?: unknown }> } | undefined;
      if (!Array.isArray(body?.data))
        throw new InferenceError('BadResponse', `${where} answered /models without a model list.`);
      this.#failover.mark(ep);
      return { ok: true, models: body.data.map((m) => String(m.id)) };
    } catch (err) {
      const e = errorFromThrown(err, where, {
        callerSignal: signal,
        timedOut: timeout.aborted,
        timeoutMs: Math.min(ep.timeoutMs, 10_000),
        receivedChars: 0,
      });
      this.#failover.mark(ep, e);
      return { ok: false, error: e };
    }
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const out: ModelInfo[] = [];
    for (const ep of this.#o.getEndpoints()) {
      const r = await this.checkHealth(ep.id, signal);
      if (!r.ok) {
        this.#o.logger?.warn({ endpoint: ep.id, err: r.error.message }, 'openai endpoint did not list its models');
        continue;
      }
      for (const m of r.models) {
        const ref = `${OPENAI_PREFIX}${ep.id}/${m}`;
        out.push({ ref, name: m, backend: 'openai', source: 'openai', location: ep.url, local: this.isLocal(ref) });
      }
    }
    return out;
  }

  async ensureModel(ref: string, options: EnsureOptions = {}): Promise<void> {
    const { endpointId, model } = parseOpenAIRef(ref);
    const chain = this.#chain(endpointId);
    if (chain.length === 0)
      throw new InferenceError('BackendUnavailable', `No endpoint "${endpointId}" in settings for ${ref}.`, {
        hint: 'Add the endpoint in settings → endpoints.',
      });
    let last: InferenceError | undefined;
    for (const ep of this.#failover.ordered(chain)) {
      const r = await this.checkHealth(ep.id, options.signal);
      if (r.ok && r.models.includes(model)) return;
      last = r.ok
        ? new InferenceError(
            'ModelNotFound',
            `Endpoint "${ep.id}" does not serve "${model}" (it lists ${r.models.length} models).`,
          )
        : r.error;
    }
    throw last ?? new InferenceError('BackendUnavailable', `No endpoint answered for ${ref}.`);
  }

  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    const { endpointId, model } = parseOpenAIRef(request.model);
    const chain = this.#chain(endpointId);
    if (chain.length === 0)
      throw new InferenceError('BackendUnavailable', `No endpoint "${endpointId}" in settings for ${request.model}.`, {
        hint: 'Add the endpoint in settings → endpoints.',
      });
    yield* this.#failover.stream(
      chain,
      request.model,
      (ep, progress) => this.#chatOnce(ep, model, request, progress),
      (err, ep, progress) =>
        errorFromThrown(err, ep.id, {
          callerSignal: request.signal,
          timedOut: false,
          timeoutMs: ep.timeoutMs,
          receivedChars: progress.chars,
        }),
    );
  }

  async *#chatOnce(
    ep: OpenAIEndpoint,
    model: string,
    request: ChatRequest,
    progress: AttemptProgress,
  ): AsyncGenerator<ChatChunk> {
    const where = `endpoint "${ep.id}" (${ep.url})`;
    const started = this.#clock.now();
    const attempt: Attempt = { dog: undefined, done: new AbortController() };
    const thrown = (err: unknown, receivedChars: number) =>
      errorFromThrown(err, where, {
        callerSignal: request.signal,
        timedOut: false,
        timeoutMs: ep.timeoutMs,
        receivedChars,
      });
    try {
      const res = await this.#connect(ep, model, request, attempt);
      const watchdog = attempt.dog as StreamWatchdog;
      const end: CompletionEnd = { finished: false, usage: undefined };
      let text = '';
      let firstAt: number | undefined;
      let pieces = 0;
      try {
        for await (const piece of completionPieces(res.body as ReadableStream<Uint8Array>, where, end)) {
          watchdog.tick(piece.length);
          firstAt ??= this.#clock.now();
          if (piece === '') continue;
          text += piece;
          pieces++;
          progress.chars = text.length;
          yield { type: 'text', text: piece, tokens: 1 };
        }
      } catch (err) {
        if (watchdog.error && !request.signal?.aborted) throw watchdog.error;
        throw thrown(err, text.length);
      }
      if (!end.finished) throw thrown(new Error('stream ended early'), text.length);
      const calls = (end.toolCalls ?? []).filter((c) => c !== undefined);
      if (calls.length > 0)
        yield { type: 'tool_calls', calls: calls.map((c, i) => ({ ...c, id: c.id || `call_${i}` })) };
      const stats = generationStats({
        backend: 'openai',
        model: request.model,
        startedAt: started,
        firstTokenAt: firstAt,
        endedAt: this.#clock.now(),
        promptTokens:
          end.usage?.prompt_tokens ?? Math.ceil(request.messages.reduce((n, m) => n + m.content.length, 0) / 4),
        completionTokens: end.usage?.completion_tokens ?? pieces,
      });
      yield { type: 'done', text, stats };
    } finally {
      attempt.dog?.stop();
      attempt.done.abort();
    }
  }

  /** POST /chat/completions until it answers with a stream (openai-request.ts). */
  async #connect(ep: OpenAIEndpoint, model: string, request: ChatRequest, attempt: Attempt): Promise<Response> {
    const post = {
      fetch: this.#fetchOf(ep),
      clock: this.#clock,
      retry: ep.retry ?? this.#o.retry ?? DEFAULT_RETRY_POLICY,
      logger: this.#o.logger,
      bucket: () => this.#bucket(ep),
      idleTimeoutMs: ep.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    };
    return postCompletion(post, ep, await this.#headers(ep), model, request, attempt);
  }

  /** The endpoint's contextTokens setting, else a context most servers give. */
  async contextWindow(ref: string): Promise<ContextWindow> {
    const ep = this.#endpoint(parseOpenAIRef(ref).endpointId);
    return ep?.contextTokens ? { ...DEFAULT_CONTEXT_WINDOW, contextTokens: ep.contextTokens } : DEFAULT_CONTEXT_WINDOW;
  }

  /** No tokenizer over HTTP: about four characters a token. */
  async countTokens(_model: string, text: string): Promise<number> {
    return Math.ceil(text.length / 4);
  }

  async close(): Promise<void> {
    // Requests own their connections and end with their signals; nothing is pooled here.
  }
}
