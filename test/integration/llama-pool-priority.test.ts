// The pool hands a model's next free sequence to a waiting bot request (priority 'high', the default) before every
// waiting API request ('low'), whatever the order they came in; among equals, first come first served. Real
// node-llama-cpp on the generated tiny model, one sequence so that everyone waits.
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelPool, type ModelLease } from '../../main/core/inference/llama/model-pool.ts';
import { tinyModel } from '../support/models.ts';

let llama: Llama;
let model: string;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', maxThreads: 1 });
  model = await tinyModel();
});
afterAll(async () => {
  await llama.dispose();
});

describe('ModelPool priority', () => {
  it('gives the freed sequence to the bot request that came after three API requests, then the API ones in order', async () => {
    const pool = new ModelPool({ llama: async () => llama, threads: 1, contextSize: 256, sequences: 1 });
    try {
      const holder = await pool.acquire(model, { priority: 'low' });
      const order: string[] = [];
      const take = (name: string, priority: 'high' | 'low') =>
        pool.acquire(model, { priority }).then((lease: ModelLease) => {
          order.push(name);
          lease.release();
        });
      const waiting = [take('api-1', 'low'), take('api-2', 'low'), take('api-3', 'low')];
      await new Promise((r) => setTimeout(r, 10));
      waiting.push(take('bot', 'high'));
      await new Promise((r) => setTimeout(r, 10));
      expect(pool.status()[0]).toMatchObject({ sequencesInUse: 1, waitingForSequence: 4 });
      holder.release();
      await Promise.all(waiting);
      expect(order).toEqual(['bot', 'api-1', 'api-2', 'api-3']);
      expect(pool.status()[0]).toMatchObject({ sequencesInUse: 0, waitingForSequence: 0 });
    } finally {
      await pool.close();
    }
  });

  it('lets a waiting request that is aborted leave the line without taking a sequence', async () => {
    const pool = new ModelPool({ llama: async () => llama, threads: 1, contextSize: 256, sequences: 1 });
    try {
      const holder = await pool.acquire(model);
      const stop = new AbortController();
      const leaving = pool.acquire(model, { signal: stop.signal, priority: 'low' });
      const staying = pool.acquire(model, { priority: 'low' });
      await new Promise((r) => setTimeout(r, 10));
      stop.abort();
      await expect(leaving).rejects.toMatchObject({ code: 'Aborted' });
      holder.release();
      (await staying).release();
      expect(pool.status()[0]).toMatchObject({ sequencesInUse: 0, waitingForSequence: 0, activeRequests: 0 });
    } finally {
      await pool.close();
    }
  });
});
