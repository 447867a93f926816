// One streaming interface for every backend (node-llama-cpp, Ollama, OpenAI-compatible).
import type { ErrorCode, GenerationStats, ModelInfo, ProgressEvent } from '../../common/inference-types.ts';

export type { ErrorCode, GenerationStats, ModelInfo, ProgressEvent };

export interface ChatMessage {
  /** `tool`: a tool's result, answering the assistant message before it that asked for the call. */
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** The speaker's display name, for rooms with several people and bots. */
  name?: string;
  /** Images the message shows (only vision models get them: Ollama `images`, OpenAI-compatible `image_url` parts). */
  images?: ChatImage[];
  /** On an assistant message: the tools it called (its content may be empty then). */
  toolCalls?: ToolCall[];
  /** On a tool message: the call it answers, and that call's tool name. */
  toolCallId?: string;
  toolName?: string;
}

/** An image as a model gets it: re-encoded without metadata, scaled to the model's limit, in memory only. */
export interface ChatImage {
  mime: 'image/jpeg' | 'image/png';
  data: Uint8Array;
  /** The file's name in the room. */
  name?: string;
  width?: number;
  height?: number;
}

/** True when any message carries an image. */
export function hasImages(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => (m.images?.length ?? 0) > 0);
}

/** A tool the model may call: a function name, what it does, and a JSON Schema of its arguments. */
export interface ToolSpec {
  /** Letters, digits, _ and - (at most 64), as every backend accepts. */
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** One call the model asked for. */
export interface ToolCall {
  /** The backend's id for the call (made up where the backend gives none). */
  id: string;
  name: string;
  /** The arguments as the model wrote them: JSON text, which may be broken. */
  arguments: string;
}

export interface SamplingOptions {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

export interface ChatRequest {
  /** The model reference without routing, e.g. llama:/path/model.gguf, ollama:qwen2.5:0.5b, openai:cloud/gpt-4o-mini. */
  model: string;
  messages: ChatMessage[];
  sampling?: SamplingOptions;
  signal?: AbortSignal;
  /** Keep-alive after this request in seconds (Ollama keep_alive, pool TTL). */
  keepAliveSeconds?: number;
  /**
   * The answer must be JSON of this schema: a grammar on node-llama-cpp, `format` on Ollama, `response_format`
   * (json_schema) on OpenAI-compatible endpoints.
   */
  jsonSchema?: Record<string, unknown>;
  /**
   * Who waits first when every sequence of a local model is busy: 'high' (the default, the bots' replies) before
   * 'low' (requests through the OpenAI-compatible API), so the API never starves the room. Remote backends ignore it.
   */
  priority?: 'high' | 'low';
  /** Tools the model may call; its calls come back as a `tool_calls` chunk before `done`. */
  tools?: ToolSpec[];
}

/** Vectors for texts, one per input in order, and the tokens they took. */
export interface EmbedResult {
  vectors: number[][];
  promptTokens: number;
}

export type ChatChunk =
  | { type: 'text'; text: string; tokens: number }
  /** The model asked for these calls; the caller runs them and asks again with the results. */
  | { type: 'tool_calls'; calls: ToolCall[] }
  | { type: 'done'; stats: GenerationStats; text: string };

export interface EnsureOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
}

/** What one request to a model can hold, as its backend knows it. */
export interface ContextWindow {
  /** Tokens the model sees at once: the llama sequence's context size, the num_ctx sent to Ollama, an endpoint's setting. */
  contextTokens: number;
  /** Tokens the chat template adds once per request (BOS, the answer's opening). */
  templateTokens: number;
  /** Tokens the chat template adds around each message (role markers). */
  perMessageTokens: number;
}

export interface InferenceBackend {
  readonly kind: 'llama' | 'ollama' | 'openai' | 'agent';
  /** True when the backend can take the reference (by its prefix). */
  handles(model: string): boolean;
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** Makes the model ready (download, pull, load); idempotent. */
  ensureModel(model: string, options?: EnsureOptions): Promise<void>;
  /** Streams a chat; the last chunk is `done`. Throws InferenceError. */
  chat(request: ChatRequest): AsyncIterable<ChatChunk>;
  /** Counts tokens as this model does, for context budgets; may estimate where the backend cannot. */
  countTokens(model: string, text: string): Promise<number>;
  /** True if every request stays on this machine. */
  isLocal(model: string): boolean;
  /** True when the model takes images (ChatMessage.images). Optional: a backend without it sends none. */
  canSeeImages?(model: string, signal?: AbortSignal): Promise<boolean>;
  /** True when the model is loaded and answers without a load first. Optional: unknown counts as not loaded. */
  isLoaded?(model: string): boolean;
  /** The context a request to this model gets (a llama model is loaded to learn it). Optional: the router assumes a default. */
  contextWindow?(model: string, signal?: AbortSignal): Promise<ContextWindow>;
  /** Embedding vectors for the texts. Optional: only node-llama-cpp models embed here. */
  embed?(model: string, inputs: string[], signal?: AbortSignal): Promise<EmbedResult>;
  close(): Promise<void>;
}

const HINTS: Record<ErrorCode, string> = {
  ModelNotFound: 'Check the model name, or download it in the model manager (agent-room models pull <ref>).',
  BackendUnavailable: 'Start the server or check its URL in settings; the fallback chain is tried next.',
  OutOfMemory: 'Choose a smaller model or quantization, or lower the number of models kept loaded.',
  RateLimited: 'Wait a moment; the request is retried automatically.',
  Timeout: 'The backend took too long; try again or choose a faster model.',
  Aborted: 'The request was stopped.',
  InvalidModelFile: 'The model file is damaged or not a GGUF file: download it again or remove it.',
  PolicyRefused: 'This bot is marked local-only; add a local model to its fallback chain.',
  BadResponse: 'The server answered something unexpected; check that the URL points at the right kind of server.',
  PromptTooLong: 'Shorten the message or split it into parts, or give the bot a model with a larger context.',
};

export class InferenceError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly retryAfterMs: number | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; hint?: string; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.name = `${code}Error`;
    this.hint = options.hint ?? HINTS[code];
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isInferenceError(err: unknown, code?: ErrorCode): err is InferenceError {
  return err instanceof InferenceError && (code === undefined || err.code === code);
}
