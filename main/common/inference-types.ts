// Serializable facts about models and generations, shared by core, the control API and the renderer.

export type ModelSource =
  'file' | 'hf' | 'ollama-store' | 'lmstudio' | 'jan' | 'folder' | 'ollama' | 'openai' | 'agent';

export interface ModelInfo {
  /** The model reference a bot's settings use: llama:<path|hf:…>, ollama:<tag>, ollama@<endpoint>:<tag>, openai:<endpoint>/<model>. */
  ref: string;
  name: string;
  backend: 'llama' | 'ollama' | 'openai' | 'agent';
  source: ModelSource;
  /** Where it came from, in words a person understands (a path, a server URL). */
  location: string;
  sizeBytes?: number;
  loaded?: boolean;
  /** True when every request stays on this machine (loopback or in-process). */
  local: boolean;
}

export interface GenerationStats {
  promptTokens: number;
  completionTokens: number;
  /** Milliseconds from the request to the first text chunk. */
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
  totalMs: number;
  backend: string;
  model: string;
}

export type ErrorCode =
  | 'ModelNotFound'
  | 'BackendUnavailable'
  | 'OutOfMemory'
  | 'RateLimited'
  | 'Timeout'
  | 'Aborted'
  | 'InvalidModelFile'
  | 'PolicyRefused'
  | 'BadResponse'
  /** The question alone does not fit the model's context. */
  | 'PromptTooLong';

export interface ProgressEvent {
  /** 0..1, or undefined when the total is unknown. */
  fraction?: number;
  transferredBytes?: number;
  totalBytes?: number;
  status: string;
}

/** The selector's figures for one task since the start (`(no task)`: requests the bot's own model took). */
export interface TaskFigures {
  task: string;
  requests: number;
  /** Answered on this machine / by a model elsewhere. */
  local: number;
  cloud: number;
  /** Refused, or every model failed. */
  unanswered: number;
  /** Answers per model. */
  models: Record<string, number>;
  /** Median time from the request to the full answer, ms; null before the first answer. */
  p50Ms: number | null;
}

/** A cloud endpoint's spend today and this month (UTC) against its budget. */
export interface EndpointSpend {
  endpoint: string;
  today: number;
  month: number;
  daily: number | undefined;
  monthly: number | undefined;
  currency: string;
}
