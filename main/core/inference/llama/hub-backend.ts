// `llama:hf:<user>/<repo>:<quant>` (and `llama:https://…gguf`) references: downloaded into <data>/models
// on first use, then served by the in-process llama backend under their file path.
import type { ModelInfo } from '../../../common/inference-types.ts';
import { downloadModel } from '../download/index.ts';
import type { ChatChunk, ChatRequest, ContextWindow, EmbedResult, EnsureOptions, InferenceBackend } from '../types.ts';
import type { LlamaBackend } from './llama-backend.ts';

export class LlamaHubBackend implements InferenceBackend {
  readonly kind = 'llama' as const;
  readonly #paths = new Map<string, Promise<string>>();

  constructor(
    private readonly llama: LlamaBackend,
    private readonly options: { modelsDir: string; fetch?: typeof fetch },
  ) {}

  handles(model: string): boolean {
    return /^llama:(hf:|https?:\/\/)/i.test(model);
  }

  isLocal(_model: string): boolean {
    return true;
  }

  async listModels(): Promise<ModelInfo[]> {
    return [];
  }

  /** One download per reference, shared by concurrent callers; a failed one can be retried. */
  #path(model: string, options: EnsureOptions = {}): Promise<string> {
    let p = this.#paths.get(model);
    if (!p) {
      p = downloadModel(model, {
        modelsDir: this.options.modelsDir,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
      });
      this.#paths.set(model, p);
      p.catch(() => this.#paths.delete(model));
    }
    return p;
  }

  async ensureModel(model: string, options?: EnsureOptions): Promise<void> {
    const path = await this.#path(model, options);
    await this.llama.ensureModel(`llama:${path}`, options);
  }

  async *chat(request: ChatRequest): AsyncIterable<ChatChunk> {
    const path = await this.#path(request.model, request.signal ? { signal: request.signal } : {});
    yield* this.llama.chat({ ...request, model: `llama:${path}` });
  }

  /** The downloaded model's context (the download, shared with chat, happens first). */
  async contextWindow(model: string, signal?: AbortSignal): Promise<ContextWindow> {
    const path = await this.#path(model, signal ? { signal } : {});
    return this.llama.contextWindow(`llama:${path}`, signal);
  }

  async embed(model: string, inputs: string[], signal?: AbortSignal): Promise<EmbedResult> {
    const path = await this.#path(model, signal ? { signal } : {});
    return this.llama.embed(`llama:${path}`, inputs, signal);
  }

  async countTokens(model: string, text: string): Promise<number> {
    const path = await this.#path(model);
    return this.llama.countTokens(`llama:${path}`, text);
  }

  async close(): Promise<void> {
    // The llama backend owns the loaded models and is closed on its own.
  }
}
