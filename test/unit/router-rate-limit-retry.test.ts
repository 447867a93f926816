// Token bucket and retry policy with a fake clock: no real waiting.
import { describe, expect, it } from 'vitest';
import { TokenBucket, type Clock } from '../../main/core/inference/rate-limit.ts';
import { parseRetryAfter, retryDelayMs, withRetry, DEFAULT_RETRY_POLICY } from '../../main/core/inference/retry.ts';
import { InferenceError } from '../../main/core/inference/types.ts';

function fakeClock(): Clock & { sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('allows a burst of perMinute, then one request per 60/perMinute seconds', async () => {
    const clock = fakeClock();
    const b = new TokenBucket({ perMinute: 60, capacity: 3, clock });
    for (let i = 0; i < 3; i++) expect(b.tryTake().ok).toBe(true);
    expect(b.tryTake()).toEqual({ ok: false, waitMs: 1000 });
    await b.take();
    expect(clock.sleeps).toEqual([1000]);
    await b.take();
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it('refills no further than its capacity', async () => {
    const clock = fakeClock();
    const b = new TokenBucket({ perMinute: 100, clock });
    expect(b.available).toBe(100);
    for (let i = 0; i < 100; i++) b.tryTake();
    await clock.sleep(10 * 60_000);
    expect(b.available).toBe(100);
  });
});

describe('retry', () => {
  it.each([
    { header: '20', ms: 20_000 },
    { header: '0.5', ms: 500 },
    { header: 'Wed, 21 Oct 2015 07:28:10 GMT', now: Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'), ms: 10_000 },
    { header: 'soon', ms: undefined },
    { header: null, ms: undefined },
  ])('parseRetryAfter($header)', ({ header, now, ms }) => {
    expect(parseRetryAfter(header, now ?? 0)).toBe(ms);
  });

  it('waits Retry-After when given, else exponential backoff with jitter', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(retryDelayMs(1, new InferenceError('RateLimited', 'x', { retryAfterMs: 7000 }), policy)).toBe(7000);
    expect(retryDelayMs(1, new InferenceError('BackendUnavailable', 'x'), policy, () => 1)).toBe(100);
    expect(retryDelayMs(3, new InferenceError('BackendUnavailable', 'x'), policy, () => 0)).toBe(200);
    expect(retryDelayMs(10, new InferenceError('BackendUnavailable', 'x'), policy, () => 1)).toBe(1000);
  });

  it('retries retryable errors and gives up on others', async () => {
    const clock = fakeClock();
    let calls = 0;
    const v = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new InferenceError('RateLimited', 'slow down', { retryAfterMs: 2000 });
        return 'ok';
      },
      { clock },
    );
    expect(v).toBe('ok');
    expect(clock.sleeps).toEqual([2000, 2000]);
    await expect(
      withRetry(async () => Promise.reject(new InferenceError('ModelNotFound', 'no')), { clock }),
    ).rejects.toMatchObject({ code: 'ModelNotFound' });
  });

  it('does not wait a Retry-After beyond the policy limit', async () => {
    const clock = fakeClock();
    const err = new InferenceError('RateLimited', 'x', { retryAfterMs: 3_600_000 });
    await expect(withRetry(async () => Promise.reject(err), { clock })).rejects.toBe(err);
    expect(clock.sleeps).toEqual([]);
  });
});
