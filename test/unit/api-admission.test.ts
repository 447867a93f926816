// Per-key admission to the API: the rate window, the concurrency limit, the bounded queue in order, 429s with
// Retry-After, a waiting request that leaves, and keys that do not share limits. Time is a manual clock.
import { describe, expect, it } from 'vitest';
import { ApiAdmission, type ApiLimits } from '../../main/core/api/api-admission.ts';
import { ApiError } from '../../main/core/api/api-errors.ts';

function setup(limits: Partial<ApiLimits> = {}) {
  const clock = { t: 1_000_000 };
  const l: ApiLimits = { requestsPerMinute: 100, maxConcurrent: 2, maxQueued: 2, ...limits };
  const admission = new ApiAdmission({ limits: () => l, now: () => clock.t });
  return { admission, clock, limits: l };
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('ApiAdmission', () => {
  it('runs maxConcurrent at once, queues maxQueued in order, refuses the next with 429 queue_full and Retry-After', async () => {
    const { admission } = setup();
    const a = await admission.admit('k');
    const b = await admission.admit('k');
    const order: string[] = [];
    const c = admission.admit('k').then((t) => (order.push('c'), t));
    const d = admission.admit('k').then((t) => (order.push('d'), t));
    const e = await refusal(admission.admit('k'));
    expect(e.status).toBe(429);
    expect(e.code).toBe('queue_full');
    expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(e.body().error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
    expect(admission.stats()).toEqual({ running: 2, queued: 2, refused: 1 });
    a.release();
    a.release(); // idempotent: one release frees one place
    await c;
    expect(order).toEqual(['c']);
    b.release();
    await d;
    expect(order).toEqual(['c', 'd']);
    expect(admission.stats()).toMatchObject({ running: 2, queued: 0 });
  });

  it('refuses past requestsPerMinute with rate_limit_exceeded and the seconds until the window frees a place', async () => {
    const { admission, clock } = setup({ requestsPerMinute: 3, maxConcurrent: 10 });
    for (let i = 0; i < 3; i++) {
      (await admission.admit('k')).release();
      clock.t += 10_000;
    }
    const e = await refusal(admission.admit('k'));
    expect(e.code).toBe('rate_limit_exceeded');
    // The first request was 30 s ago: a place frees in 30 s.
    expect(e.retryAfterSeconds).toBe(30);
    clock.t += 30_000;
    await expect(admission.admit('k')).resolves.toBeDefined();
  });

  it('keeps each key to its own limits', async () => {
    const { admission } = setup({ maxConcurrent: 1, maxQueued: 0 });
    await admission.admit('a');
    expect((await refusal(admission.admit('a'))).status).toBe(429);
    await expect(admission.admit('b')).resolves.toBeDefined();
  });

  it('drops a waiting request whose client left, and the next one takes its turn', async () => {
    const { admission } = setup({ maxConcurrent: 1, maxQueued: 2 });
    const first = await admission.admit('k');
    const gone = new AbortController();
    const leaving = admission.admit('k', gone.signal);
    const staying = admission.admit('k');
    gone.abort();
    expect((await refusal(leaving)).code).toBe('client_closed');
    expect(admission.stats().queued).toBe(1);
    first.release();
    await expect(staying).resolves.toBeDefined();
  });

  it('reads the limits on each request: a raised limit counts at once', async () => {
    const { admission, limits } = setup({ maxConcurrent: 1, maxQueued: 0 });
    await admission.admit('k');
    expect((await refusal(admission.admit('k'))).status).toBe(429);
    limits.maxConcurrent = 2;
    await expect(admission.admit('k')).resolves.toBeDefined();
  });
});
