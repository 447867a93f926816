// Keeps node-llama-cpp models loaded: at most N at once under a memory budget, LRU eviction, keep-alive
// per model, pin/preload, one load per model however many requests wait, and a pool of context sequences
// (each with its LlamaChat) so parallel requests run side by side and reuse their evaluated prefix.
// Each model's context is sized from the model and the memory budget (context-size.ts).
import {
  resolveChatWrapper,
  type ChatWrapper,
  type Llama,
  type LlamaChat,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type LlamaModelOptions,
} from 'node-llama-cpp';
import { InferenceError, type ContextWindow } from '../types.ts';
import { contextSizeOption, measureTemplate } from './context-size.ts';
import { checkModelFile, classifyLoadError } from './model-file.ts';
import type { Logger } from '../../logging/logger.ts';
import { PoolSlots, type Slot, type SlotPriority } from './pool-slots.ts';
import { nextRoomStep } from './pool-room.ts';
import { abortable, systemClock, type PoolClock, type PoolEvent, type PooledModelStatus } from './pool-support.ts';

export { abortedError, systemClock, type PoolClock, type PoolEvent, type PooledModelStatus } from './pool-support.ts';

export interface ModelPoolOptions {
  /** The node-llama-cpp instance (created once by the backend, with its GPU choice and thread cap). */
  llama: () => Promise<Llama>;
  /** Threads per context; always set: node-llama-cpp's default collapses on small machines. */
  threads: number;
  /** Most models loaded at once. Default 1. */
  maxLoaded?: number;
  /** Budget for loaded models in bytes (weights + context state). Default unlimited. */
  memoryBudgetBytes?: number;
  /** Parallel sequences per model context. Default 4. */
  sequences?: number;
  /** A fixed number of tokens per sequence (tests, benchmarks). Default: sized per model, see maxContextTokens. */
  contextSize?: number;
  /** Most tokens per sequence: the model's trained context and the memory budget may make it smaller. Default 8192. */
  maxContextTokens?: number;
  /** Fewest tokens per sequence (the trained context when that is smaller). Default 2048. */
  minContextTokens?: number;
  /** node-llama-cpp's gpuLayers for each load (the plan's policy; 0 once the backend fell back to the CPU). Default 'auto'. */
  gpuLayers?: () => LlamaModelOptions['gpuLayers'];
  /** Keep-alive after the last use when a request names none; Infinity = until evicted. Default 5 min. */
  defaultKeepAliveMs?: number;
  clock?: PoolClock;
  logger?: Logger;
  /** Bytes a model will take once loaded, before loading it. Default: the file size plus 10 %. */
  estimateBytes?: (path: string, fileSize: number) => number;
}

/** One sequence of a loaded model, held by one request until `release()`. */
export interface ModelLease {
  readonly path: string;
  readonly model: LlamaModel;
  readonly sequence: LlamaContextSequence;
  readonly chat: LlamaChat;
  readonly chatWrapper: ChatWrapper;
  readonly window: ContextWindow;
  release(): void;
}

interface Entry {
  path: string;
  state: 'loading' | 'ready';
  ready: Promise<void>;
  model?: LlamaModel;
  context?: LlamaContext;
  chatWrapper?: ChatWrapper;
  window?: ContextWindow;
  slots: PoolSlots;
  /** Requests that hold or wait for this model: it is not evicted while any. */
  claims: number;
  sizeBytes: number;
  lastUsedAt: number;
  pinned: boolean;
  keepAliveMs: number;
  timer?: unknown;
}

export class ModelPool {
  readonly #o: Required<Omit<ModelPoolOptions, 'logger' | 'contextSize'>> &
    Pick<ModelPoolOptions, 'logger' | 'contextSize'>;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(e: PoolEvent) => void>();
  /** Loads run one after another so that eviction decisions see settled memory figures. */
  #loadChain: Promise<void> = Promise.resolve();
  /** Woken when a claim drops, so a load waiting for room can evict again. */
  #roomWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: ModelPoolOptions) {
    if (!(options.threads >= 1)) throw new Error('ModelPool needs threads >= 1');
    this.#o = {
      maxLoaded: 1,
      memoryBudgetBytes: Infinity,
      sequences: 4,
      maxContextTokens: 8192,
      minContextTokens: 2048,
      gpuLayers: () => 'auto',
      defaultKeepAliveMs: 300_000,
      clock: systemClock,
      estimateBytes: (_p, size) => Math.round(size * 1.1),
      ...options,
    };
  }

  onEvent(listener: (e: PoolEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): PooledModelStatus[] {
    return [...this.#entries.values()].map((e) => ({
      path: e.path,
      state: e.state,
      sizeBytes: e.sizeBytes,
      lastUsedAt: e.lastUsedAt,
      pinned: e.pinned,
      activeRequests: e.claims,
      sequencesInUse: e.slots.inUse,
      waitingForSequence: e.slots.waiting,
      keepAliveMs: e.keepAliveMs,
    }));
  }

  /**
   * Takes a sequence of the model, loading the model first if needed; while all are busy, waiting requests of
   * high priority (the default) get one before those of low priority. Rejects with InferenceError.
   */
  async acquire(
    path: string,
    options: { signal?: AbortSignal; keepAliveMs?: number; priority?: SlotPriority } = {},
  ): Promise<ModelLease> {
    const entry = this.#claim(path, options.keepAliveMs);
    let slot: Slot;
    try {
      await abortable(entry.ready, options.signal);
      slot = await entry.slots.take(entry.context!, entry.chatWrapper!, options.signal, options.priority);
    } catch (err) {
      this.#unclaim(entry);
      throw err;
    }
    let released = false;
    return {
      path,
      model: entry.model!,
      sequence: slot.sequence,
      chat: slot.chat,
      chatWrapper: entry.chatWrapper!,
      window: entry.window!,
      release: () => {
        if (released) return;
        released = true;
        entry.slots.give(slot);
        this.#unclaim(entry);
      },
    };
  }

  /** Loads the model and resolves with it without taking a sequence (token counting, preload). */
  async withModel<T>(path: string, fn: (model: LlamaModel) => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    const entry = this.#claim(path, undefined);
    try {
      await abortable(entry.ready, signal);
      return await fn(entry.model!);
    } finally {
      this.#unclaim(entry);
    }
  }

  /** The context each request to the model gets (loading the model first if needed). */
  contextWindow(path: string, signal?: AbortSignal): Promise<ContextWindow> {
    return this.withModel(path, () => this.#entries.get(path)!.window!, signal);
  }

  /** Loads a model ahead of use; `pin` keeps it loaded through keep-alive and LRU. */
  async preload(path: string, options: { pin?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.withModel(path, () => undefined, options.signal);
    if (options.pin) this.pin(path, true);
  }

  pin(path: string, pinned = true): void {
    const entry = this.#entries.get(path);
    if (!entry) return;
    entry.pinned = pinned;
    if (pinned) this.#clearTimer(entry);
    else if (entry.claims === 0) this.#scheduleExpiry(entry);
  }

  async unload(path: string): Promise<void> {
    const entry = this.#entries.get(path);
    if (entry && entry.state === 'ready') await this.#dispose(entry, 'manual');
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#entries.values()].map((e) => e.ready.then(() => this.#dispose(e, 'close'))));
  }

  #claim(path: string, keepAliveMs: number | undefined): Entry {
    if (this.#closed)
      throw new InferenceError('BackendUnavailable', 'The model pool is closed.', {
        hint: 'The app is shutting down.',
      });
    let entry = this.#entries.get(path);
    if (!entry) {
      entry = {
        path,
        state: 'loading',
        ready: Promise.resolve(),
        slots: new PoolSlots(),
        claims: 0,
        sizeBytes: 0,
        lastUsedAt: this.#o.clock.now(),
        pinned: false,
        keepAliveMs: this.#o.defaultKeepAliveMs,
      };
      this.#entries.set(path, entry);
      const e = entry;
      entry.ready = this.#enqueueLoad(e);
      entry.ready.catch(() => undefined);
    }
    if (keepAliveMs !== undefined) entry.keepAliveMs = keepAliveMs;
    entry.claims++;
    entry.lastUsedAt = this.#o.clock.now();
    this.#clearTimer(entry);
    return entry;
  }

  #unclaim(entry: Entry): void {
    entry.claims--;
    entry.lastUsedAt = this.#o.clock.now();
    if (entry.claims === 0 && entry.state === 'ready') this.#scheduleExpiry(entry);
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  #enqueueLoad(entry: Entry): Promise<void> {
    const run = this.#loadChain.then(() => this.#load(entry));
    this.#loadChain = run.catch(() => undefined);
    return run;
  }

  async #load(entry: Entry): Promise<void> {
    const started = this.#o.clock.now();
    this.#emit({ type: 'loading', path: entry.path });
    try {
      const fileSize = await checkModelFile(entry.path);
      entry.sizeBytes = this.#o.estimateBytes(entry.path, fileSize);
      await this.#makeRoom(entry);
      const llama = await this.#o.llama();
      const model = await llama
        .loadModel({ modelPath: entry.path, gpuLayers: this.#o.gpuLayers() })
        .catch((err: unknown) => {
          throw classifyLoadError(err, entry.path);
        });
      const context = await this.#createContext(entry, model).catch(async (err: unknown) => {
        await model.dispose();
        throw classifyLoadError(err, entry.path);
      });
      // Resolved once per model: resolving per request costs 250–350 ms (MEASURED.md).
      entry.chatWrapper = resolveChatWrapper(model);
      entry.window = { contextTokens: context.contextSize, ...measureTemplate(model, entry.chatWrapper) };
      entry.model = model;
      entry.context = context;
      entry.sizeBytes = Math.max(entry.sizeBytes, model.size + context.stateSize);
      entry.state = 'ready';
      this.#emit({ type: 'loaded', path: entry.path, sizeBytes: entry.sizeBytes, ms: this.#o.clock.now() - started });
      this.#o.logger?.info(
        {
          model: entry.path,
          sizeBytes: entry.sizeBytes,
          contextTokens: context.contextSize,
          gpuLayers: model.gpuLayers,
        },
        'model loaded',
      );
    } catch (err) {
      this.#entries.delete(entry.path);
      const error = classifyLoadError(err, entry.path);
      this.#emit({ type: 'load-failed', path: entry.path, error });
      throw error;
    }
  }

  /** A context sized from the model's trained context and what the budget leaves once its weights are in. */
  async #createContext(entry: Entry, model: LlamaModel): Promise<LlamaContext> {
    const others = [...this.#entries.values()]
      .filter((e) => e !== entry && e.state === 'ready')
      .reduce((sum, e) => sum + e.sizeBytes, 0);
    const contextSize = await contextSizeOption(model, {
      ...(this.#o.contextSize !== undefined ? { fixed: this.#o.contextSize } : {}),
      maxTokens: this.#o.maxContextTokens,
      minTokens: this.#o.minContextTokens,
      sequences: this.#o.sequences,
      roomBytes: this.#o.memoryBudgetBytes - others - model.size,
    });
    return model.createContext({ sequences: this.#o.sequences, contextSize, threads: this.#o.threads });
  }

  /** Evicts idle, unpinned models (least recently used first) until the new one fits; waits while all are busy. */
  async #makeRoom(entry: Entry): Promise<void> {
    const limits = { maxLoaded: this.#o.maxLoaded, budgetBytes: this.#o.memoryBudgetBytes };
    for (;;) {
      const others = [...this.#entries.values()].filter((e) => e !== entry && e.state === 'ready');
      const next = nextRoomStep(entry.path, entry.sizeBytes, others, limits);
      if (next.kind === 'fits') return;
      if (next.kind === 'evict') await this.#dispose(next.victim, next.reason);
      else await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  #scheduleExpiry(entry: Entry): void {
    this.#clearTimer(entry);
    if (entry.pinned || entry.keepAliveMs === Infinity) return;
    if (entry.keepAliveMs <= 0) {
      void this.#dispose(entry, 'keep-alive');
      return;
    }
    entry.timer = this.#o.clock.setTimeout(() => {
      entry.timer = undefined;
      if (entry.claims === 0 && !entry.pinned) void this.#dispose(entry, 'keep-alive');
    }, entry.keepAliveMs);
  }

  #clearTimer(entry: Entry): void {
    if (entry.timer !== undefined) this.#o.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  async #dispose(entry: Entry, reason: Extract<PoolEvent, { type: 'unloaded' }>['reason']): Promise<void> {
    if (this.#entries.get(entry.path) !== entry) return;
    this.#entries.delete(entry.path);
    this.#clearTimer(entry);
    await entry.context?.dispose();
    await entry.model?.dispose();
    this.#o.logger?.info({ model: entry.path, reason }, 'model unloaded');
    this.#emit({ type: 'unloaded', path: entry.path, reason });
  }

  #emit(event: PoolEvent): void {
    for (const l of [...this.#listeners]) l(event);
  }
}
