// One chat generation as an async iterator: takes a pooled sequence, runs LlamaChat.generateResponse,
// hands out text chunks, then a `done` chunk with timings. A hand-written iterator rather than async
// generators: a token costs one settled promise, which keeps the interface within a few percent of raw
// node-llama-cpp. The sequence goes back to the pool as soon as the generation stops (end, abort, error).
import type { ChatHistoryItem, GbnfJsonSchema, LlamaGrammar } from 'node-llama-cpp';
import { InferenceError, isInferenceError, type ChatChunk, type ChatRequest } from '../types.ts';
import { grammarSchema } from './json-grammar.ts';
import { llamaFunctions, toolCallsFrom } from './llama-tools.ts';
import { abortedError, type ModelLease, type ModelPool } from './model-pool.ts';

type Result = IteratorResult<ChatChunk, undefined>;
const DONE: Result = { value: undefined, done: true };

export class LlamaStream implements AsyncIterableIterator<ChatChunk, undefined> {
  readonly #pool: ModelPool;
  readonly #path: string;
  readonly #request: ChatRequest;
  readonly #history: ChatHistoryItem[];
  #ready: Promise<void> | undefined;
  #lease: ModelLease | undefined;
  #inner = new AbortController();
  #items: ChatChunk[] = [];
  #head = 0;
  #waiter: { resolve: (r: Result) => void; reject: (e: unknown) => void } | undefined;
  /** Set when the generation has stopped and its sequence is back in the pool. */
  #settled = false;
  #error: unknown;
  #finished = false;
  #started = 0;
  #firstAt = 0;
  #tokens = 0;

  constructor(pool: ModelPool, path: string, request: ChatRequest, history: ChatHistoryItem[]) {
    this.#pool = pool;
    this.#path = path;
    this.#request = request;
    this.#history = history;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<Result> {
    if (!this.#ready) {
      this.#ready = this.#begin();
      return this.#ready.then(
        () => this.next(),
        (err: unknown) => {
          this.#settled = true;
          this.#finished = true;
          throw err;
        },
      );
    }
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head]!;
      this.#items[this.#head++] = undefined as never;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#settled) {
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        this.#finished = true;
        return Promise.reject(error);
      }
      return Promise.resolve(DONE);
    }
    return new Promise<Result>((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** The consumer left early (break, throw): stop generating and give the sequence back. */
  async return(): Promise<Result> {
    this.#finished = true;
    this.#inner.abort(abortedError());
    if (this.#ready) await this.#ready.catch(() => undefined);
    await this.#whenSettled();
    return DONE;
  }

  async #begin(): Promise<void> {
    const request = this.#request;
    this.#started = performance.now();
    const outer = request.signal;
    if (outer?.aborted) throw abortedError();
    this.#lease = await this.#pool.acquire(this.#path, {
      signal: outer,
      keepAliveMs: request.keepAliveSeconds === undefined ? undefined : request.keepAliveSeconds * 1000,
      ...(request.priority ? { priority: request.priority } : {}),
    });
    if (this.#finished) return this.#settle();
    let grammar: LlamaGrammar | undefined;
    try {
      grammar = request.jsonSchema ? await jsonGrammar(this.#lease, request.jsonSchema) : undefined;
    } catch (err) {
      this.#settle();
      throw err;
    }
    // Aborting means stop now: chunks not yet taken are dropped, and the error follows once the sequence is free.
    const onAbort = () => {
      this.#inner.abort(abortedError());
      this.#items = [];
      this.#head = 0;
    };
    outer?.addEventListener('abort', onAbort, { once: true });
    const s = request.sampling ?? {};
    this.#lease.chat
      .generateResponse(this.#history, {
        onResponseChunk: (chunk) => {
          if (chunk.type !== undefined) return; // thoughts and comments are not part of the reply
          if (this.#firstAt === 0) this.#firstAt = performance.now();
          this.#tokens += chunk.tokens.length;
          this.#push({ type: 'text', text: chunk.text, tokens: chunk.tokens.length });
        },
        signal: this.#inner.signal,
        stopOnAbortSignal: false,
        ...(s.maxTokens !== undefined ? { maxTokens: s.maxTokens } : {}),
        ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
        ...(s.topP !== undefined ? { topP: s.topP } : {}),
        ...(s.seed !== undefined ? { seed: s.seed } : {}),
        ...(s.stop?.length ? { customStopTriggers: s.stop } : {}),
        // A grammar, or tools as chat functions (LlamaChat documents them to the model and stops at a call, parsed).
        ...(grammar
          ? { grammar }
          : request.tools?.length
            ? { functions: llamaFunctions(request.tools), documentFunctionParams: true }
            : {}),
      })
      .then(
        (result) => {
          const calls = toolCallsFrom(result.functionCalls);
          if (calls.length > 0) this.#push({ type: 'tool_calls', calls });
          this.#push(this.#doneChunk(result.response));
        },
        (err: unknown) => {
          this.#error = this.#inner.signal.aborted ? abortedError() : generationError(err, this.#path);
          this.#items = [];
          this.#head = 0;
        },
      )
      .finally(() => {
        outer?.removeEventListener('abort', onAbort);
        this.#settle();
      });
  }

  #push(chunk: ChatChunk): void {
    if (this.#finished || this.#inner.signal.aborted) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve({ value: chunk, done: false });
    } else this.#items.push(chunk);
  }

  #settleListeners: Array<() => void> = [];

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#lease?.release();
    for (const l of this.#settleListeners.splice(0)) l();
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    this.next().then(waiter.resolve, waiter.reject);
  }

  #whenSettled(): Promise<void> {
    if (this.#settled || !this.#lease) return Promise.resolve();
    return new Promise((resolve) => this.#settleListeners.push(resolve));
  }

  #doneChunk(text: string): ChatChunk {
    const end = performance.now();
    const completionTokens = this.#tokens;
    const contextTokens = this.#lease?.sequence.contextTokens.length ?? 0;
    const decodeMs = this.#firstAt ? end - this.#firstAt : 0;
    return {
      type: 'done',
      text,
      stats: {
        promptTokens: Math.max(0, contextTokens - completionTokens),
        completionTokens,
        timeToFirstTokenMs: (this.#firstAt || end) - this.#started,
        // Decode rate: tokens after the first over the time after the first (as Ollama's eval rate).
        tokensPerSecond: completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
        totalMs: end - this.#started,
        backend: 'llama',
        model: this.#request.model,
      },
    };
  }
}

/**
 * The grammar that holds generation to JSON of the schema (node-llama-cpp turns the schema into GBNF). A schema it
 * cannot express (a keyword it does not support) is the request's fault, told as such.
 */
async function jsonGrammar(lease: ModelLease, schema: Record<string, unknown>): Promise<LlamaGrammar> {
  try {
    return await lease.model.llama.createGrammarForJsonSchema<GbnfJsonSchema>(grammarSchema(schema) as GbnfJsonSchema);
  } catch (err) {
    throw new InferenceError(
      'BadResponse',
      `The JSON schema cannot be used as a grammar: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
        hint: 'On node-llama-cpp a schema may use type, properties, additionalProperties, items, prefixItems, enum, const, oneOf/anyOf and $defs/$ref; rewrite the schema with these.',
      },
    );
  }
}

function generationError(err: unknown, path: string): InferenceError {
  if (isInferenceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/out of memory|alloc/i.test(message))
    return new InferenceError('OutOfMemory', `Generation with ${path} ran out of memory: ${message}`, { cause: err });
  return new InferenceError('BackendUnavailable', `Generation with ${path} failed: ${message}`, {
    cause: err,
    hint: 'Try again; if it keeps failing, reload the model.',
  });
}
