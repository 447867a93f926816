// The Ollama backend: every Ollama endpoint in settings, over HTTP through the `ollama` package. `ollama:<tag>`
// goes to the first endpoint, `ollama@<id>:<tag>` to the named one (ollama-ref.ts). When that endpoint fails
// before any text, the others that serve the same tag are tried (endpoint-failover.ts, shared with the
// OpenAI-compatible backend); a loopback endpoint only fails over to loopback ones, so a local-only bot stays
// local. Errors are mapped to InferenceError with what a person should do.
import type { Ollama, ProgressResponse } from 'ollama';
import type { Logger } from '../../logging/logger.ts';
import { EndpointFailover, type EndpointHealth } from '../endpoint-failover.ts';
import { DEFAULT_CONTEXT_WINDOW } from '../prompt-budget.ts';
import type { Clock } from '../rate-limit.ts';
import { isLoopbackUrl } from '../router-privacy.ts';
import {
  InferenceError,
  type ChatChunk,
  type ChatRequest,
  type ContextWindow,
  type EnsureOptions,
  type InferenceBackend,
  type ModelInfo,
  type ProgressEvent,
} from '../types.ts';
import { mapOllamaError, pullHint } from './ollama-errors.ts';
import { hostOf, ollamaClient, resolveOllamaRef, shownModel, type ShownModel } from './ollama-endpoint.ts';
import { formatOllamaRef, isOllamaRef, normalizeTag, ollamaTag } from './ollama-ref.ts';
import { DEFAULT_OLLAMA_CONTEXT, ollamaChatOnce, type OllamaEndpoint } from './ollama-stream.ts';

export {
  OLLAMA_ENDPOINT_PREFIX,
  OLLAMA_PREFIX,
  formatOllamaRef,
  isOllamaRef,
  ollamaTag,
  parseOllamaRef,
} from './ollama-ref.ts';
export {
  DEFAULT_OLLAMA_CONTEXT,
  DEFAULT_OLLAMA_IDLE_MS,
  DEFAULT_OLLAMA_LOAD_MS,
  type OllamaEndpoint,
} from './ollama-stream.ts';

export interface OllamaBackendOptions {
  /** Read on every call, so settings changes apply at once (settings.endpoints.ollama); the first is `ollama:<tag>`'s. */
  getEndpoints?: () => OllamaEndpoint[];
  /** One server, for callers with no settings: the same as getEndpoints returning [{ id: 'default', url: host }]. */
  host?: string;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Milliseconds for the small calls (version, tags, show, ps). */
  requestTimeoutMs?: number;
  now?: () => number;
  clock?: Clock;
  /** After a failure an endpoint goes to the back of the failover order for this long. */
  unhealthyForMs?: number;
}

type Health = { ok: true; models: Array<{ name: string; size: number }> } | { ok: false; error: InferenceError };

export class OllamaBackend implements InferenceBackend {
  readonly kind = 'ollama' as const;
  readonly #getEndpoints: () => OllamaEndpoint[];
  readonly #fetch: typeof fetch;
  readonly #logger: Logger | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #failover: EndpointFailover<OllamaEndpoint>;
  /** Each endpoint's tags as POST /api/show describes them: the trained context (which caps num_ctx), vision. */
  readonly #shown = new Map<string, ShownModel>();

  constructor(options: OllamaBackendOptions) {
    const fixed = options.host ? [{ id: 'default', url: options.host }] : [];
    this.#getEndpoints = options.getEndpoints ?? (() => fixed);
    this.#fetch = options.fetch ?? fetch;
    this.#logger = options.logger;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
    this.#failover = new EndpointFailover({
      kind: 'ollama',
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.unhealthyForMs !== undefined ? { unhealthyForMs: options.unhealthyForMs } : {}),
    });
  }

  /** The first endpoint's URL ('' when none is configured). */
  get host(): string {
    return hostOf(this.#getEndpoints()[0]);
  }

  /** A client whose every request carries `signal`: ollama-js passes no signal on its plain calls. */
  #client(ep: OllamaEndpoint, signal?: AbortSignal): Ollama {
    return ollamaClient(this.#fetch, ep, signal);
  }

  #timed(signal?: AbortSignal): AbortSignal {
    const t = AbortSignal.timeout(this.#timeoutMs);
    return signal ? AbortSignal.any([signal, t]) : t;
  }

  /** The endpoint a reference names (the first for `ollama:<tag>`) and its tag. */
  #resolve(ref: string): { ep: OllamaEndpoint; index: number; tag: string } {
    return resolveOllamaRef(this.#getEndpoints(), ref);
  }

  /** The named endpoint, then the others a failure may move to: loopback ones only when it is loopback. */
  #chain(primary: OllamaEndpoint): OllamaEndpoint[] {
    const local = isLoopbackUrl(primary.url);
    return [primary, ...this.#getEndpoints().filter((e) => e !== primary && (!local || isLoopbackUrl(e.url)))];
  }

  handles(model: string): boolean {
    return isOllamaRef(model);
  }

  /** Local when the endpoint is loopback (failover from it stays on loopback). */
  isLocal(model: string): boolean {
    try {
      return isLoopbackUrl(this.#resolve(model).ep.url);
    } catch {
      return false;
    }
  }

  health(): EndpointHealth[] {
    return this.#failover.health();
  }

  /** Detects the first endpoint's server; throws BackendUnavailable (not running) or BadResponse (not Ollama). */
  async detect(signal?: AbortSignal): Promise<{ version: string; url: string }> {
    const ep = this.#getEndpoints()[0];
    const host = hostOf(ep);
    const s = this.#timed(signal);
    try {
      if (!ep) throw new InferenceError('BackendUnavailable', 'No Ollama server is configured.');
      const { version } = await this.#client(ep, s).version();
      if (typeof version !== 'string')
        throw new InferenceError(
          'BadResponse',
          `${host} answered /api/version without a version: it does not look like Ollama.`,
        );
      return { version, url: host };
    } catch (err) {
      throw mapOllamaError(err, { host, signal: s, what: 'detect the Ollama server' });
    }
  }

  /** GET /api/tags on one endpoint; records its health for the failover order. */
  async checkHealth(endpointId: string, signal?: AbortSignal): Promise<Health> {
    const ep = this.#getEndpoints().find((e) => e.id === endpointId);
    if (!ep)
      return {
        ok: false,
        error: new InferenceError('BackendUnavailable', `No Ollama endpoint "${endpointId}" in settings.`),
      };
    const s = this.#timed(signal);
    try {
      const tags = await this.#client(ep, s).list();
      this.#failover.mark(ep);
      return { ok: true, models: tags.models.map((m) => ({ name: m.name, size: m.size })) };
    } catch (err) {
      const error = mapOllamaError(err, { host: hostOf(ep), signal: s, what: 'list the Ollama models' });
      this.#failover.mark(ep, error);
      return { ok: false, error };
    }
  }

  /** Every endpoint's models; the first endpoint's as `ollama:<tag>`, the others' as `ollama@<id>:<tag>`. */
  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const endpoints = this.#getEndpoints();
    const lists = await Promise.all(
      endpoints.map((ep, i) =>
        this.#listOne(ep, i === 0 ? undefined : ep.id, signal).catch((err: unknown) => err as InferenceError),
      ),
    );
    const failed = lists.filter((l): l is InferenceError => !Array.isArray(l));
    if (failed.length > 0 && failed.length === lists.length) throw failed[0];
    for (const e of failed) this.#logger?.warn({ err: e.message }, 'an Ollama endpoint did not list its models');
    return lists.filter((l): l is ModelInfo[] => Array.isArray(l)).flat();
  }

  async #listOne(ep: OllamaEndpoint, refId: string | undefined, signal?: AbortSignal): Promise<ModelInfo[]> {
    const s = this.#timed(signal);
    const client = this.#client(ep, s);
    const [health, ps] = await Promise.all([
      this.checkHealth(ep.id, signal),
      client.ps().catch(() => ({ models: [] })),
    ]);
    if (!health.ok) throw health.error;
    const loaded = new Set(ps.models.map((m) => m.name));
    const local = isLoopbackUrl(ep.url);
    return health.models.map(({ name, size }) => ({
      ref: formatOllamaRef(name, refId),
      name,
      backend: 'ollama',
      source: 'ollama',
      location: hostOf(ep),
      sizeBytes: size,
      loaded: loaded.has(name),
      local,
    }));
  }

  /** True when the reference's endpoint has the model (POST /api/show answers). */
  async hasModel(ref: string, signal?: AbortSignal): Promise<boolean> {
    const { ep, tag } = this.#resolve(ref);
    const s = this.#timed(signal);
    try {
      await this.#client(ep, s).show({ model: tag });
      return true;
    } catch (err) {
      const mapped = mapOllamaError(err, { host: hostOf(ep), signal: s, what: 'look up the model', tag });
      if (mapped.code === 'ModelNotFound') return false;
      throw mapped;
    }
  }

  /** Pulls the model on its endpoint with streamed progress; aborting the signal closes the stream, which cancels the pull. */
  async pull(ref: string, options: EnsureOptions = {}): Promise<void> {
    const { ep, tag } = this.#resolve(ref);
    const { signal, onProgress } = options;
    try {
      const stream = await this.#client(ep, signal).pull({ model: tag, stream: true });
      const onAbort = () => stream.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const p of stream) onProgress?.(toProgress(p));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      this.#logger?.info({ model: tag, host: hostOf(ep) }, 'ollama pull finished');
    } catch (err) {
      throw mapOllamaError(err, { host: hostOf(ep), signal, what: `pull ${tag}`, tag, pulling: true });
    }
  }

  async ensureModel(ref: string, options: EnsureOptions = {}): Promise<void> {
    if (await this.hasModel(ref, options.signal)) return;
    await this.pull(ref, options);
  }

  /** num_ctx as sent (the endpoint's contextTokens), capped by the model's trained context when the server says it. */
  async contextWindow(ref: string, signal?: AbortSignal): Promise<ContextWindow> {
    const { ep, tag } = this.#resolve(ref);
    const sent = ep.contextTokens ?? DEFAULT_OLLAMA_CONTEXT;
    const trained = (await this.#show(ep, tag, signal))?.trainedContext;
    return { ...DEFAULT_CONTEXT_WINDOW, contextTokens: trained ? Math.min(sent, trained) : sent };
  }

  /** What /api/show says of the model (cached per endpoint and tag); undefined when the server does not answer. */
  async #show(ep: OllamaEndpoint, tag: string, signal?: AbortSignal): Promise<ShownModel | undefined> {
    const key = `${ep.url} ${normalizeTag(tag)}`;
    const known = this.#shown.get(key);
    if (known) return known;
    try {
      const shown = shownModel(await this.#client(ep, this.#timed(signal)).show({ model: tag }));
      this.#shown.set(key, shown);
      return shown;
    } catch {
      return undefined; // the chat itself reports what is wrong with the endpoint or the model
    }
  }

  /** Whether the model takes images: "vision" among its /api/show capabilities. */
  async canSeeImages(ref: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const { ep, tag } = this.#resolve(ref);
      return (await this.#show(ep, tag, signal))?.vision ?? false;
    } catch {
      return false;
    }
  }

  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    const { ep: primary, tag } = this.#resolve(request.model);
    const endpoints = this.#getEndpoints();
    // Another endpoint is worth trying only if it has the tag (asked only once the named one has failed).
    const serves = async (ep: OllamaEndpoint) => {
      if (ep === primary) return true;
      const h = await this.checkHealth(ep.id, request.signal);
      return h.ok && h.models.some((m) => normalizeTag(m.name) === normalizeTag(tag));
    };
    yield* this.#failover.stream(
      this.#chain(primary),
      request.model,
      (ep, progress) =>
        ollamaChatOnce({
          ep,
          index: endpoints.indexOf(ep),
          tag,
          request,
          progress,
          client: (s) => this.#client(ep, s),
          now: this.#now,
        }),
      (err, ep, progress) =>
        mapOllamaError(err, {
          host: hostOf(ep),
          signal: request.signal,
          what: `chat with ${tag}`,
          tag,
          receivedChars: progress.chars,
        }),
      serves,
    );
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
