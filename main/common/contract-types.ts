// Serializable payloads of the control contract (status, probe, bots, downloads, the owner's session).
// Plain data only: they cross IPC, HTTP and WebSocket unchanged.
import type { EndpointSpend, ModelInfo, ProgressEvent, TaskFigures } from './inference-types.ts';
import type { BotConfig } from './settings-schema.ts';

export type { ModelInfo, ProgressEvent };

export type ServiceStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'degraded';

/** One service of the ServiceHost, flattened for display (core's ServiceState maps onto it one to one). */
export interface ServiceReport {
  name: string;
  status: ServiceStatus;
  detail?: string;
  error?: string;
  /** What the person can do about the error. */
  hint?: string;
}

export type HostPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface HomeserverStatus {
  mode: 'bundled' | 'external';
  /** Client-server API base URL, once known. */
  url?: string;
  serverName?: string;
  /** The team room, once provisioned. */
  roomId?: string;
  /** The address other devices on the network use, when LAN access is on (shown with a QR code). */
  lanUrl?: string;
}

export type GpuBackend = 'metal' | 'cuda' | 'vulkan' | 'cpu';

export interface InferenceStatus {
  /** The backend the plan chose for in-process inference, or ollama when preferred. */
  backend: GpuBackend | 'ollama';
  /** The GPU in words ("NVIDIA RTX 4090, 24 GiB"), or undefined on CPU. */
  gpu?: string;
  /** Model references currently loaded in memory. */
  loadedModels: string[];
  /** The selector's figures per task since the start: requests, where they went, median time. */
  tasks?: TaskFigures[];
  /** Cloud spend per endpoint with prices or a budget, today and this month. */
  spend?: EndpointSpend[];
}

export interface BotStats {
  /** Milliseconds from the request to the first text chunk of the last reply. */
  lastLatencyMs?: number;
  tokensPerSecond?: number;
  replies: number;
}

export interface BotStatus {
  id: string;
  displayName: string;
  userId?: string;
  model: string;
  /** True while a reply is streaming. */
  busy: boolean;
  /** Mentions waiting for this bot, and being answered now. */
  queued?: number;
  running?: number;
  /** Mentions not queued since start (queue full, history too old); each was told with a notice in the room. */
  refused?: number;
  stats: BotStats;
  lastError?: string;
}

export interface AppStatus {
  phase: HostPhase;
  services: ServiceReport[];
  homeserver: HomeserverStatus;
  inference: InferenceStatus;
  bots: BotStatus[];
  /** True after bots.pauseAll until bots.resumeAll. */
  botsPaused: boolean;
  /** How many times the loop guard stopped bot-to-bot replies since start. */
  loopGuardTrips: number;
  /** Present while the team waits for a model download (a first run with nothing on disk). */
  firstRun?: { modelsToDownload: string[]; reason?: string };
}

/** What the chat window needs to log in to Matrix as the owner. */
export interface OwnerSession {
  homeserverUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
  roomId: string;
}

/** The owner's recovery key (Base58 in groups of four); `created` on the run that made it, so the window shows it once. */
export interface OwnerRecoveryKey {
  recoveryKey: string;
  created: boolean;
}

/** The owner's encryption as the app knows it. */
export interface OwnerEncryption {
  /** The team room is end-to-end encrypted. */
  encrypted: boolean;
  /** The app holds the owner's recovery key (made by it, or given by the person). */
  recoveryKeyKnown: boolean;
}

/** A bot's settings with what the running app knows about it. */
export interface BotInfo {
  config: BotConfig;
  userId?: string;
  status: BotStatus;
  /** Model references this bot may switch to (local-only bots see local models only). */
  availableModels: string[];
}

export type PullState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface PullJob {
  jobId: string;
  ref: string;
  state: PullState;
  progress?: ProgressEvent;
  error?: string;
}

export interface BotReply {
  botId: string;
  displayName: string;
  roomId: string;
  eventId: string;
  /** The first words of the reply, for a notification. */
  preview: string;
}

export interface GpuInfo {
  vendor: string;
  model: string;
  vramBytes?: number;
  driver?: string;
}

export interface ProbeReport {
  os: { platform: string; release?: string; arch: string; appleSilicon: boolean };
  cpu: { model: string; cores: number; threads?: number; flags?: string[] };
  memory: { totalBytes: number; freeBytes?: number };
  gpus: GpuInfo[];
  ollama?: { url: string; version?: string; models: string[] };
}

export interface InferencePlan {
  backend: GpuBackend | 'ollama';
  threads: number;
  /** 'max' = offload every layer, 'auto' = let node-llama-cpp fit, 0 = CPU only. */
  gpuLayers: 'max' | 'auto' | number;
  maxLoadedModels: number;
  memoryBudgetMiB: number;
  /** Recommended model references for this machine, best first. */
  recommendedModels: string[];
  /** Why the plan is what it is, including why a GPU was not used. */
  reasons: string[];
}

export interface ProbeResult {
  report: ProbeReport;
  plan: InferencePlan;
}

/** The desktop app's own update (main/electron/updates/): what the tray and the window show. */
export type AppUpdateState =
  | { phase: 'off'; why: string }
  | { phase: 'disabled' }
  | { phase: 'idle' }
  | { phase: 'checking' }
  /** A check is due but waits: a bot is replying. */
  | { phase: 'waiting' }
  | { phase: 'current'; version: string }
  /** A newer version exists that this install cannot take in place; how says what to do, url where to get it. */
  | { phase: 'available'; version: string; how: string; url: string }
  | { phase: 'downloading'; version: string; percent: number }
  /** Downloaded and verified: installs when the app quits, or at once with app.restartToUpdate. */
  | { phase: 'ready'; version: string }
  | { phase: 'error'; message: string };

export interface AppInfo {
  version: string;
  /** 'desktop' in Electron, 'serve' in the headless server (desktop-only channels answer Unavailable there). */
  shell: 'desktop' | 'serve';
  platform: string;
  dataDir: string;
}

/** One key of the OpenAI-compatible API, as the window lists it (never the key itself). */
export interface ApiKeyInfo {
  name: string;
  /** Its first characters (`ar-AbCd`), to tell keys apart. */
  prefix: string;
  createdAt: string;
}

/** The API's keys and where it answers. */
export interface ApiKeysView {
  keys: ApiKeyInfo[];
  /** The base URL programs use (`http://127.0.0.1:8765/v1`); absent while the desktop app's API is off. */
  baseUrl?: string;
}

/** A key just made: the only time its value is shown. */
export interface ApiKeyCreated extends ApiKeyInfo {
  key: string;
}

/** One model call from the audit trail (<data>/state/audit.sqlite), as the window's Audit panel lists it. */
export interface AuditCall {
  id: number;
  /** When the call started (ms since the epoch). */
  at: number;
  roomId: string | null;
  eventId: string | null;
  botId: string;
  task: string | null;
  model: string;
  /** llama, ollama, openai, agent; "mcp" for a tool call; "none" when no model was tried (a refusal). */
  backend: string;
  /** The endpoint of an OpenAI-compatible or Ollama model; "local" for in-process llama models. */
  endpoint: string | null;
  /** True when the model runs on this machine. */
  local: boolean;
  /** The kinds of sensitive data the request held (never the values). */
  sensitive: string[];
  promptTokens: number | null;
  completionTokens: number | null;
  durationMs: number;
  /** In the endpoint budget's currency; null where nothing priced the call (local models, no price set). */
  cost: number | null;
  /** Why this model. */
  reason: string;
  outcome: 'ok' | 'failed' | 'refused' | 'aborted';
  errorCode: string | null;
  /** Tool calls (backend "mcp"): the arguments' and the result's size in bytes, and who allowed or denied it. */
  argsBytes?: number | null;
  resultBytes?: number | null;
  approvedBy?: string | null;
}
