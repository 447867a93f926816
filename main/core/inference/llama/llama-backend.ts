// The in-process node-llama-cpp backend for `llama:<absolute path to a .gguf>` references.
// One Llama instance (the plan's GPU and GPU layers, else CPU with the reason kept for status), a ModelPool of
// loaded models, and streaming through each pooled sequence's LlamaChat with the chat wrapper resolved once per model.
import { basename, isAbsolute } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type LlamaGpuType } from 'node-llama-cpp';
import {
  InferenceError,
  type ChatChunk,
  type ChatRequest,
  type ContextWindow,
  type EmbedResult,
  type EnsureOptions,
  type InferenceBackend,
  type ModelInfo,
} from '../types.ts';
import { toChatHistory } from './chat-history.ts';
import { LlamaEmbedder } from './embedder.ts';
import { LlamaStream } from './llama-stream.ts';
import { ModelPool, type ModelPoolOptions, type PooledModelStatus } from './model-pool.ts';
import type { Logger } from '../../logging/logger.ts';

export type GpuChoice = 'auto' | 'metal' | 'cuda' | 'vulkan' | false;
/** How many layers go to the GPU: the plan's policy ('max', 'auto', 0) or a count. */
export type GpuLayers = 'max' | 'auto' | number;

export interface LlamaBackendOptions extends Omit<ModelPoolOptions, 'llama' | 'gpuLayers'> {
  /** The hardware plan's GPU choice; a failure falls back to CPU and the reason shows in status(). Default 'auto'. */
  gpu?: GpuChoice;
  /** The hardware plan's GPU layers, given to every loadModel; 0 on the CPU, whatever the plan said. Default 'auto'. */
  gpuLayers?: GpuLayers;
  logger?: Logger;
  /** Creates the Llama instance; injectable for tests. Default: node-llama-cpp's getLlama with build 'never'. */
  loadLlama?: (options: { gpu: GpuChoice; maxThreads: number }) => Promise<Llama>;
}

export interface LlamaBackendStatus {
  requestedGpu: GpuChoice;
  /** The GPU actually in use, false for CPU; undefined until the first model is needed. */
  gpu: LlamaGpuType | undefined;
  /** What each loadModel gets: the plan's policy, or 0 on the CPU. */
  gpuLayers: GpuLayers;
  fallbackReason?: string;
  threads: number;
  models: PooledModelStatus[];
}

const PREFIX = 'llama:';

function defaultLoadLlama({ gpu, maxThreads }: { gpu: GpuChoice; maxThreads: number }): Promise<Llama> {
  return getLlama({ gpu, build: 'never', maxThreads, logLevel: LlamaLogLevel.error });
}

export class LlamaBackend implements InferenceBackend {
  readonly kind = 'llama' as const;
  readonly pool: ModelPool;
  readonly #embedder: LlamaEmbedder;
  readonly #options: LlamaBackendOptions;
  #llama: Promise<Llama> | undefined;
  #gpu: LlamaGpuType | undefined;
  #fallbackReason: string | undefined;

  constructor(options: LlamaBackendOptions) {
    this.#options = options;
    this.pool = new ModelPool({ ...options, llama: () => this.#getLlama(), gpuLayers: () => this.#gpuLayers() });
    this.#embedder = new LlamaEmbedder(this.pool, {
      threads: options.threads,
      maxContextTokens: options.contextSize ?? options.maxContextTokens ?? 8192,
    });
  }

  status(): LlamaBackendStatus {
    return {
      requestedGpu: this.#options.gpu ?? 'auto',
      gpu: this.#gpu,
      gpuLayers: this.#gpuLayers(),
      ...(this.#fallbackReason ? { fallbackReason: this.#fallbackReason } : {}),
      threads: this.#options.threads,
      models: this.pool.status(),
    };
  }

  handles(model: string): boolean {
    return model.startsWith(PREFIX) && isAbsolute(model.slice(PREFIX.length));
  }

  isLocal(_model: string): boolean {
    return true;
  }

  isLoaded(model: string): boolean {
    if (!this.handles(model)) return false;
    const path = model.slice(PREFIX.length);
    return this.pool.status().some((m) => m.path === path && m.state === 'ready');
  }

  /** Loaded models only; files on disk are listed by the discovery module. */
  async listModels(_signal?: AbortSignal): Promise<ModelInfo[]> {
    return this.pool.status().map((m) => ({
      ref: `${PREFIX}${m.path}`,
      name: basename(m.path).replace(/\.gguf$/i, ''),
      backend: 'llama',
      source: 'file',
      location: m.path,
      sizeBytes: m.sizeBytes,
      loaded: m.state === 'ready',
      local: true,
    }));
  }

  async ensureModel(model: string, options: EnsureOptions = {}): Promise<void> {
    const path = this.#pathOf(model);
    options.onProgress?.({ status: `loading ${basename(path)}` });
    await this.pool.preload(path, { signal: options.signal });
    options.onProgress?.({ status: 'ready', fraction: 1 });
  }

  /** Keeps a model loaded regardless of keep-alive and LRU (loading it first). */
  async pin(model: string, pinned = true): Promise<void> {
    const path = this.#pathOf(model);
    if (pinned) await this.pool.preload(path, { pin: true });
    else this.pool.pin(path, false);
  }

  async countTokens(model: string, text: string): Promise<number> {
    return this.pool.withModel(this.#pathOf(model), (m) => m.tokenize(text).length);
  }

  /** The loaded model's context (its sequences' size) and its chat template's cost, loading it first if needed. */
  contextWindow(model: string, signal?: AbortSignal): Promise<ContextWindow> {
    return this.pool.contextWindow(this.#pathOf(model), signal);
  }

  /** Embedding vectors for the texts, from the model's own embedding context (loading the model first if needed). */
  embed(model: string, inputs: string[], signal?: AbortSignal): Promise<EmbedResult> {
    return this.#embedder.embed(this.#pathOf(model), model, inputs, signal);
  }

  chat(request: ChatRequest): AsyncIterableIterator<ChatChunk, undefined> {
    let path: string;
    try {
      path = this.#pathOf(request.model);
    } catch (err) {
      // Errors surface on the first next(), like every other failure of a stream.
      const failed: AsyncIterableIterator<ChatChunk, undefined> = {
        next: () => Promise.reject(err),
        [Symbol.asyncIterator]: () => failed,
      };
      return failed;
    }
    return new LlamaStream(this.pool, path, request, toChatHistory(request.messages));
  }

  async close(): Promise<void> {
    await this.pool.close();
    if (this.#llama) await (await this.#llama.catch(() => undefined))?.dispose();
  }

  #pathOf(model: string): string {
    if (!this.handles(model)) {
      throw new InferenceError('ModelNotFound', `${model} is not a llama:<absolute path to a .gguf file> reference.`);
    }
    return model.slice(PREFIX.length);
  }

  /** A CPU Llama (no GPU, or the fallback) offloads nothing, whatever the plan said. */
  #gpuLayers(): GpuLayers {
    return this.#gpu === false || this.#options.gpu === false ? 0 : (this.#options.gpuLayers ?? 'auto');
  }

  #getLlama(): Promise<Llama> {
    this.#llama ??= this.#createLlama();
    return this.#llama;
  }

  async #createLlama(): Promise<Llama> {
    const load = this.#options.loadLlama ?? defaultLoadLlama;
    const gpu = this.#options.gpu ?? 'auto';
    const maxThreads = this.#options.threads;
    let llama: Llama;
    try {
      llama = await load({ gpu, maxThreads });
    } catch (err) {
      if (gpu === false) {
        throw new InferenceError('BackendUnavailable', `node-llama-cpp could not start: ${(err as Error).message}`, {
          cause: err,
        });
      }
      this.#fallbackReason = `${gpu === 'auto' ? 'GPU detection' : gpu} failed: ${(err as Error).message}; running on the CPU.`;
      this.#options.logger?.warn({ gpu, err: (err as Error).message }, 'GPU backend unavailable, falling back to CPU');
      try {
        llama = await load({ gpu: false, maxThreads });
      } catch (cpuErr) {
        throw new InferenceError(
          'BackendUnavailable',
          `node-llama-cpp could not start on the CPU either: ${(cpuErr as Error).message}`,
          { cause: cpuErr },
        );
      }
    }
    this.#gpu = llama.gpu;
    return llama;
  }
}
