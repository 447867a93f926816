// The model pool with real node-llama-cpp loads of generated tiny models: LRU, keep-alive, pins, one load.
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelPool, type PoolClock, type PoolEvent } from '../../main/core/inference/llama/model-pool.ts';
import { isInferenceError } from '../../main/core/inference/types.ts';
import { tinyModel } from '../support/models.ts';

/** Timers that fire only when the test advances time. */
class ManualClock implements PoolClock {
  t = 1_000;
  timers = new Map<number, { at: number; fn: () => void }>();
  #id = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    this.timers.set(++this.#id, { at: this.t + ms, fn });
    return this.#id;
  };
  clearTimeout = (h: unknown) => void this.timers.delete(h as number);
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.timers]) {
      if (timer.at > this.t) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
}

let llama: Llama;
let a: string;
let b: string;
let pool: ModelPool | undefined;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', maxThreads: 1 });
  a = await tinyModel({ seed: 1 });
  b = await tinyModel({ seed: 2 });
});
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});
afterAll(async () => {
  await llama.dispose();
});

function makePool(options: Partial<ConstructorParameters<typeof ModelPool>[0]> = {}) {
  const events: PoolEvent[] = [];
  pool = new ModelPool({ llama: async () => llama, threads: 1, contextSize: 256, sequences: 2, ...options });
  pool.onEvent((e) => events.push(e));
  return { pool, events, loads: (p: string) => events.filter((e) => e.type === 'loaded' && e.path === p).length };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('ModelPool', () => {
  it('loads a model once for five concurrent requests, sharing its sequences', async () => {
    const { pool, loads } = makePool({ sequences: 2 });
    const leases = Promise.all(
      [1, 2, 3, 4, 5].map(() => pool.acquire(a).then((l) => (setTimeout(() => l.release(), 10), l))),
    );
    const got = await leases;
    expect(loads(a)).toBe(1);
    expect(new Set(got.map((l) => l.sequence)).size).toBe(2); // 5 requests, 2 sequences, reused in turn
    expect(new Set(got.map((l) => l.chatWrapper)).size).toBe(1); // resolved once per model
    expect(got[0]!.chatWrapper.wrapperName).toBe('ChatML');
  });

  it('evicts the least recently used model when at most one may be loaded', async () => {
    const { pool, events } = makePool({ maxLoaded: 1 });
    (await pool.acquire(a)).release();
    (await pool.acquire(b)).release();
    expect(events).toContainEqual({ type: 'unloaded', path: a, reason: 'lru' });
    expect(pool.status().map((s) => s.path)).toEqual([b]);
    (await pool.acquire(a)).release();
    expect(events).toContainEqual({ type: 'unloaded', path: b, reason: 'lru' });
  });

  it('waits for a busy model to finish before evicting it', async () => {
    const { pool } = makePool({ maxLoaded: 1 });
    const held = await pool.acquire(a);
    let gotB = false;
    const nextB = pool.acquire(b).then((l) => ((gotB = true), l));
    await settle();
    expect(gotB).toBe(false);
    held.release();
    (await nextB).release();
    expect(pool.status().map((s) => s.path)).toEqual([b]);
  });

  it('unloads after the keep-alive expires, counted from the last use', async () => {
    const clock = new ManualClock();
    const { pool, events } = makePool({ clock, defaultKeepAliveMs: 60_000 });
    (await pool.acquire(a)).release();
    clock.advance(30_000);
    (await pool.acquire(a, { keepAliveMs: 60_000 })).release(); // renews
    clock.advance(45_000);
    expect(pool.status()).toHaveLength(1);
    clock.advance(15_000);
    await settle();
    expect(events).toContainEqual({ type: 'unloaded', path: a, reason: 'keep-alive' });
    expect(pool.status()).toHaveLength(0);
  });

  it('keeps a pinned (preloaded) model through keep-alive and LRU', async () => {
    const clock = new ManualClock();
    const { pool, events } = makePool({ clock, maxLoaded: 2, defaultKeepAliveMs: 1_000 });
    await pool.preload(a, { pin: true });
    expect(pool.status()[0]).toMatchObject({ path: a, pinned: true, state: 'ready' });
    clock.advance(10_000);
    (await pool.acquire(b)).release();
    expect(
      pool
        .status()
        .map((s) => s.path)
        .sort(),
    ).toEqual([a, b].sort());
    expect(events.filter((e) => e.type === 'unloaded')).toEqual([]);
  });

  it('refuses a model larger than the memory budget, and evicts to stay within it', async () => {
    const tooSmall = makePool({ maxLoaded: 5, memoryBudgetBytes: 10_000 });
    const err = await tooSmall.pool.acquire(a).catch((e: unknown) => e);
    expect(isInferenceError(err, 'OutOfMemory')).toBe(true);
    expect((err as Error).message).toContain(a);
    expect(tooSmall.events.map((e) => e.type)).toEqual(['loading', 'load-failed']);
    await tooSmall.pool.close();
    // The loaded size (weights + context state) of one tiny model, measured.
    const probe = makePool();
    (await probe.pool.acquire(a)).release();
    const size = probe.pool.status()[0]!.sizeBytes;
    expect(size).toBeGreaterThan(400_000);
    await probe.pool.close();
    const { pool, events } = makePool({ maxLoaded: 5, memoryBudgetBytes: Math.round(size * 1.5) });
    (await pool.acquire(a)).release();
    (await pool.acquire(b)).release();
    expect(events).toContainEqual({ type: 'unloaded', path: a, reason: 'budget' });
    expect(pool.status().map((s) => s.path)).toEqual([b]);
  });

  it('gives a waiting request up when its signal aborts', async () => {
    const { pool } = makePool({ sequences: 1 });
    const held = await pool.acquire(a);
    const controller = new AbortController();
    const waiting = pool.acquire(a, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(isInferenceError(await waiting, 'Aborted')).toBe(true);
    held.release();
    expect(pool.status()[0]!.activeRequests).toBe(0);
  });
});
