// Embedding vectors on node-llama-cpp (the API's /v1/embeddings): one embedding context per loaded model, made on
// first use and forgotten when the pool unloads the model (disposing a model disposes its contexts). Requests for
// one model take turns on its context; the model stays loaded (claimed) while they run.
import type { LlamaEmbeddingContext, LlamaModel } from 'node-llama-cpp';
import { InferenceError, type EmbedResult } from '../types.ts';
import type { ModelPool } from './model-pool.ts';
import { abortedError } from './pool-support.ts';

export interface EmbedderOptions {
  threads: number;
  /** Most tokens one input may hold (the model's trained context caps it further). */
  maxContextTokens: number;
}

interface EmbeddingState {
  context: Promise<LlamaEmbeddingContext>;
  size: number;
  /** The last request on this context: the next one starts after it. */
  turn: Promise<unknown>;
}

export class LlamaEmbedder {
  readonly #states = new Map<string, EmbeddingState>();

  constructor(
    private readonly pool: ModelPool,
    private readonly options: EmbedderOptions,
  ) {
    pool.onEvent((e) => {
      if (e.type === 'unloaded') this.#states.delete(e.path);
    });
  }

  /** One vector per input, in order. Throws PromptTooLong naming the input, its tokens and the limit. */
  embed(path: string, model: string, inputs: string[], signal?: AbortSignal): Promise<EmbedResult> {
    return this.pool.withModel(
      path,
      async (m) => {
        const state = this.#state(path, m);
        const run = state.turn.then(() => this.#run(state, model, inputs, signal));
        state.turn = run.catch(() => undefined);
        return run;
      },
      signal,
    );
  }

  #state(path: string, model: LlamaModel): EmbeddingState {
    let state = this.#states.get(path);
    if (!state) {
      const size = Math.max(1, Math.min(model.trainContextSize, this.options.maxContextTokens));
      const context = model.createEmbeddingContext({ contextSize: size, threads: this.options.threads });
      state = { context, size, turn: Promise.resolve() };
      const made = state;
      context.catch(() => {
        if (this.#states.get(path) === made) this.#states.delete(path);
      });
      this.#states.set(path, state);
    }
    return state;
  }

  async #run(state: EmbeddingState, model: string, inputs: string[], signal?: AbortSignal): Promise<EmbedResult> {
    const context = await state.context;
    const lengths = inputs.map((text) => context.calculateInputLength(text));
    lengths.forEach((tokens, i) => {
      if (tokens > state.size)
        throw new InferenceError(
          'PromptTooLong',
          `${inputs.length > 1 ? `Input ${i}` : 'The input'} is ${tokens} tokens; ${model} embeds at most ${state.size} tokens at once.`,
          { hint: 'Split the text into shorter parts.' },
        );
    });
    const vectors: number[][] = [];
    for (const text of inputs) {
      if (signal?.aborted) throw abortedError();
      vectors.push([...(await context.getEmbeddingFor(text)).vector]);
    }
    return { vectors, promptTokens: lengths.reduce((a, b) => a + b, 0) };
  }
}
