// Serializable facts about models and generations, shared by core, the control API and the renderer.

export type ModelSource = 'file' | 'hf' | 'ollama-store' | 'lmstudio' | 'jan' | 'folder' | 'ollama' | 'openai';

export interface ModelInfo {
  /** The model reference a bot's settings use: llama:<path|hf:…>, ollama:<tag>, ollama@<endpoint>:<tag>, openai:<endpoint>/<model>. */
  ref: string;
  name: string;
  backend: 'llama' | 'ollama' | 'openai';
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
