// The inference service: the hardware plan, the backends it implies (node-llama-cpp in-process, Ollama,
// OpenAI-compatible endpoints, external agents), the router over them, the models on disk, and download/pull jobs.
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import type { PullJob } from '../../common/contract-types.ts';
import type { ModelInfo } from '../../common/inference-types.ts';
import type { Settings } from '../../common/settings-schema.ts';
import { AuditStore } from '../audit/audit-store.ts';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { InferencePlan } from '../probe/plan.ts';
import type { HardwareReport } from '../probe/report.ts';
import { defaultDiscoveryRoots, discoverModels } from './discovery/index.ts';
import { AgentBackend } from './agent/agent-backend.ts';
import { downloadModel } from './download/index.ts';
import { LlamaHubBackend } from './llama/hub-backend.ts';
import { LlamaBackend, type GpuChoice, type LlamaBackendOptions } from './llama/llama-backend.ts';
import { isOllamaRef, OllamaBackend, type OllamaEndpoint } from './ollama/ollama-backend.ts';
import { OpenAIBackend, type EndpointHealth, type OpenAIEndpoint } from './openai/openai-backend.ts';
import { embedFor, type EmbedRequest } from './embeddings.ts';
import { InferenceRouter } from './router.ts';
import type { EmbedResult, InferenceBackend } from './types.ts';

export interface InferenceServiceOptions {
  getSettings: () => Settings;
  /** Runs (or returns the cached) hardware probe and plan. */
  getPlan: () => Promise<{ report: HardwareReport; plan: InferencePlan }>;
  modelsDir: string;
  resolveSecret: (ref: string) => Promise<string | undefined>;
  logger?: Logger;
  onJob?: (job: PullJob) => void;
  /** Tests override where other apps' model stores are looked for. */
  discoveryHome?: string;
  fetch?: typeof fetch;
  /** Creates node-llama-cpp's Llama (tests observe what the plan passes to it). */
  loadLlama?: LlamaBackendOptions['loadLlama'];
  /** The audit database (<data>/state/audit.sqlite); without it, calls are not recorded. */
  auditFile?: string;
  /** Paired peers as endpoints (read on every call, after the settings' endpoints), and the fetch that pins each. */
  peers?: { endpoints: () => OpenAIEndpoint[]; fetchFor: (ep: OpenAIEndpoint) => typeof fetch | undefined };
  /** How often each peer is asked for its models (its health for failover and /health). Default 30 s; 0: never. */
  peerCheckMs?: number;
}

/** How often serve asks each paired peer whether it answers. */
export const PEER_CHECK_MS = 30_000;

export class InferenceService extends BaseService {
  readonly name = 'inference';
  #router: InferenceRouter | undefined;
  #llama: LlamaBackend | undefined;
  #ollama: OllamaBackend | undefined;
  #backends: InferenceBackend[] = [];
  #plan: InferencePlan | undefined;
  #audit: AuditStore | undefined;
  #openai: OpenAIBackend | undefined;
  #peerTimer: ReturnType<typeof setInterval> | undefined;
  readonly #jobs = new Map<string, { job: PullJob; abort: AbortController }>();
  /** Downloadable reference (llama:hf:…, llama:https://…) → the file it was saved as. */
  readonly #downloaded = new Map<string, string>();

  constructor(private readonly options: InferenceServiceOptions) {
    super();
  }

  get router(): InferenceRouter {
    if (!this.#router) throw new Error('Inference has not started yet.');
    return this.#router;
  }

  get plan(): InferencePlan | undefined {
    return this.#plan;
  }

  get llama(): LlamaBackend | undefined {
    return this.#llama;
  }

  /** The audit database this service writes, while it runs (the control API reads the window's list from it). */
  get auditStore(): AuditStore | undefined {
    return this.#audit;
  }

  async start(_signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    const settings = this.options.getSettings();
    const { report, plan } = await this.options.getPlan();
    this.#plan = plan;
    const inf = settings.inference;
    const gpu: GpuChoice = plan.llamaGpu === false ? false : plan.llamaGpu;
    this.#llama = new LlamaBackend({
      gpu,
      // The plan's policy reaches every loadModel; the backend makes it 0 if it falls back to the CPU.
      gpuLayers: plan.gpuLayers,
      maxContextTokens: inf.contextTokens && inf.contextTokens > 0 ? inf.contextTokens : plan.contextTokens,
      ...(this.options.loadLlama ? { loadLlama: this.options.loadLlama } : {}),
      threads: inf.threads > 0 ? inf.threads : plan.threads,
      maxLoaded: inf.maxLoadedModels > 0 ? inf.maxLoadedModels : plan.maxLoadedModels,
      memoryBudgetBytes: (inf.memoryBudgetMiB > 0 ? inf.memoryBudgetMiB : plan.memoryBudgetMiB) * 1024 * 1024,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    // Every configured endpoint (read on each call); with none, the Ollama the probe found answering.
    const found: OllamaEndpoint[] = report.ollama?.reachable ? [{ id: 'local', url: report.ollama.url }] : [];
    const ollamaEndpoints = (): OllamaEndpoint[] => {
      const configured = this.options.getSettings().endpoints.ollama;
      return configured.length > 0 ? configured : found;
    };
    const ollamaUrl = ollamaEndpoints()[0]?.url;
    this.#ollama = ollamaUrl
      ? new OllamaBackend({
          getEndpoints: ollamaEndpoints,
          ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
          ...(this.options.logger ? { logger: this.options.logger } : {}),
        })
      : undefined;
    const peers = this.options.peers;
    const openai = new OpenAIBackend({
      getEndpoints: () => [...this.options.getSettings().endpoints.openai, ...(peers?.endpoints() ?? [])],
      ...(peers ? { fetchFor: peers.fetchFor } : {}),
      resolveSecret: this.options.resolveSecret,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    const hub = new LlamaHubBackend(this.#llama, {
      modelsDir: this.options.modelsDir,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    // External agents (agent:<id>): a program per request, or an HTTP endpoint.
    const agents = new AgentBackend({
      getAgents: () => this.options.getSettings().agents,
      resolveSecret: this.options.resolveSecret,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    this.#backends = [this.#llama, hub, ...(this.#ollama ? [this.#ollama] : []), openai, agents];
    this.#openai = openai;
    this.#checkPeers();
    this.#audit?.close();
    this.#audit = this.#openAudit();
    const audit = this.#audit;
    this.#router = new InferenceRouter({
      ...(audit ? { audit, spentSince: (endpoint: string, since: number) => audit.spentSince(endpoint, since) } : {}),
      backends: this.#backends,
      getSettings: this.options.getSettings,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    const more = ollamaEndpoints().length > 1 ? ` and ${ollamaEndpoints().length - 1} more` : '';
    const detail = `${plan.backend}, ${inf.threads > 0 ? inf.threads : plan.threads} thread(s)${this.#ollama ? `, Ollama at ${ollamaUrl}${more}` : ''}`;
    this.setState({ status: 'running', detail });
  }

  async stop(_deadlineMs: number): Promise<void> {
    this.setState({ status: 'stopping' });
    clearInterval(this.#peerTimer);
    this.#peerTimer = undefined;
    for (const { abort } of this.#jobs.values()) abort.abort();
    await Promise.allSettled(this.#backends.map((b) => b.close()));
    this.#audit?.close();
    this.#audit = undefined;
    this.setState({ status: 'stopped' });
  }

  /**
   * Asks each paired peer for its models now and every peerCheckMs: one that does not answer goes to the back of
   * its failover order (endpoint-failover.ts) and shows as down in /health before a request finds out.
   */
  #checkPeers(): void {
    const peers = this.options.peers;
    const every = this.options.peerCheckMs ?? PEER_CHECK_MS;
    if (!peers || every <= 0) return;
    const check = () => {
      for (const ep of peers.endpoints()) void this.#openai?.checkHealth(ep.id);
    };
    check();
    clearInterval(this.#peerTimer);
    this.#peerTimer = setInterval(check, every);
    this.#peerTimer.unref();
  }

  /** The paired peers' health: the last check or request on each. */
  peerHealth(): EndpointHealth[] {
    const ids = new Set(this.options.peers?.endpoints().map((e) => e.id) ?? []);
    return (this.#openai?.health() ?? []).filter((h) => ids.has(h.id));
  }

  /** The audit store, when on and node:sqlite is there; a database that cannot be opened is logged, not fatal. */
  #openAudit(): AuditStore | undefined {
    const file = this.options.auditFile;
    if (!file) return undefined;
    try {
      return AuditStore.open({
        file,
        getSettings: () => this.options.getSettings().audit,
        ...(this.options.logger ? { logger: this.options.logger } : {}),
      });
    } catch (err) {
      this.options.logger?.warn({ err: errorMessage(err), file }, 'audit trail off: its database did not open');
      return undefined;
    }
  }

  /** Embedding vectors through the bot's first model that embeds (llama: models), recorded in the audit trail. */
  embed(request: EmbedRequest): Promise<EmbedResult & { model: string }> {
    const router = this.router;
    return embedFor({ backendFor: (m) => router.backendFor(m), audit: this.#audit, now: () => Date.now() }, request);
  }

  /** Context sequences of the in-process models handed out and not given back (0 when no request runs). */
  sequencesInUse(): number {
    return (this.#llama?.pool.status() ?? []).reduce((n, m) => n + m.sequencesInUse, 0);
  }

  loadedModels(): string[] {
    return (this.#llama?.pool.status() ?? []).map((m) => `llama:${m.path}`);
  }

  /** Every model a bot can use: files on disk (ours and other apps'), Ollama's, endpoints'. */
  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    const settings = this.options.getSettings();
    const roots = defaultDiscoveryRoots({
      home: this.options.discoveryHome ?? homedir(),
      platform: process.platform,
      env: this.options.discoveryHome ? {} : process.env,
      dataModels: this.options.modelsDir,
      folders: settings.inference.modelFolders,
    });
    const [onDisk, fromBackends] = await Promise.all([
      discoverModels(roots).catch((err: unknown) => {
        this.options.logger?.warn({ err: errorMessage(err) }, 'model discovery failed');
        return [] as ModelInfo[];
      }),
      this.#router ? this.#router.listModels(signal) : Promise.resolve([] as ModelInfo[]),
    ]);
    const loaded = new Set(this.loadedModels());
    const byRef = new Map<string, ModelInfo>();
    for (const m of [...onDisk, ...fromBackends]) {
      const prev = byRef.get(m.ref);
      byRef.set(m.ref, { ...prev, ...m, loaded: loaded.has(m.ref) || Boolean(prev?.loaded) || Boolean(m.loaded) });
    }
    return [...byRef.values()];
  }

  jobs(): PullJob[] {
    return [...this.#jobs.values()].map((j) => j.job);
  }

  /** Starts a download (hf: URI or URL) or an Ollama pull; returns at once with the job id. */
  pull(ref: string, onDone?: (job: PullJob, path?: string) => void): string {
    const jobId = randomUUID();
    const abort = new AbortController();
    const job: PullJob = { jobId, ref, state: 'running', progress: { status: 'starting' } };
    this.#jobs.set(jobId, { job, abort });
    const publish = () => this.options.onJob?.({ ...job });
    publish();
    const onProgress = (p: PullJob['progress']) => {
      job.progress = p;
      publish();
    };
    const run = async (): Promise<string | undefined> => {
      if (isOllamaRef(ref)) {
        if (!this.#ollama)
          throw new Error('No Ollama server is configured or running. Start Ollama, or add its URL in settings.');
        await this.#ollama.pull(ref, { signal: abort.signal, onProgress });
        return undefined;
      }
      return downloadModel(ref, {
        modelsDir: this.options.modelsDir,
        signal: abort.signal,
        onProgress,
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      });
    };
    run().then(
      (path) => {
        const key = InferenceService.downloadKey(ref);
        if (key && path) this.#downloaded.set(key, path);
        job.state = 'done';
        job.progress = { status: 'done', fraction: 1 };
        publish();
        onDone?.(job, path);
      },
      (err: unknown) => {
        job.state = abort.signal.aborted ? 'cancelled' : 'failed';
        if (!abort.signal.aborted) job.error = errorMessage(err);
        publish();
        onDone?.(job);
      },
    );
    return jobId;
  }

  /** `hf:…` / `https://…` / `llama:hf:…` → `llama:hf:…`: one key however the person typed it. */
  static downloadKey(ref: string): string | undefined {
    const bare = ref.startsWith('llama:') ? ref.slice('llama:'.length) : ref;
    return /^(hf:|https?:\/\/)/i.test(bare) ? `llama:${bare}` : undefined;
  }

  /** A downloadable reference that was downloaded becomes `llama:<file>`; anything else stays as it is. */
  resolveModelRef(ref: string): string {
    const key = InferenceService.downloadKey(ref);
    const path = key ? this.#downloaded.get(key) : undefined;
    return path ? `llama:${path}` : ref;
  }

  /** True when using the reference first needs a download that has not happened yet. */
  needsDownload(ref: string): boolean {
    const key = InferenceService.downloadKey(ref);
    return key !== undefined && !this.#downloaded.has(key);
  }

  cancel(jobId: string): boolean {
    const entry = this.#jobs.get(jobId);
    if (!entry || entry.job.state !== 'running') return false;
    entry.abort.abort();
    return true;
  }
}
