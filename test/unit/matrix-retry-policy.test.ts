// The one Matrix retry policy (main/core/homeserver/matrix-fetch.ts): a fetch gets the 429 policy once, however
// often it is wrapped; an idempotent send is retried on a homeserver away or failing (5xx), never on a 429 or 4xx.
import { ConnectionError, MatrixError } from 'matrix-js-sdk';
import { describe, expect, it } from 'vitest';
import { isTransientFailure, rateLimitedFetch, retryTransient } from '../../main/core/homeserver/matrix-fetch.ts';

describe('rateLimitedFetch, wrapped twice', () => {
  it('is the same policy: one wait per 429, not two stacked', async () => {
    let calls = 0;
    const base: typeof fetch = async () =>
      ++calls === 1 ? new Response('{"retry_after_ms":5}', { status: 429 }) : new Response('{}', { status: 200 });
    const waits: number[] = [];
    const once = rateLimitedFetch(base, { sleep: async (ms) => void waits.push(ms) });
    const twice = rateLimitedFetch(once, { sleep: async (ms) => void waits.push(ms * 1000) });
    expect(twice).toBe(once);
    expect((await twice('http://hs.test/x')).status).toBe(200);
    expect(waits).toEqual([5]);
  });
});

describe('retryTransient', () => {
  it('retries a connection failure and a 5xx with the same request, and gives up on 429 and other 4xx at once', async () => {
    expect(isTransientFailure(new ConnectionError('down'))).toBe(true);
    expect(isTransientFailure(new MatrixError({ errcode: 'M_UNKNOWN' }, 502))).toBe(true);
    expect(isTransientFailure(new MatrixError({ errcode: 'M_LIMIT_EXCEEDED' }, 429))).toBe(false);
    expect(isTransientFailure(new MatrixError({ errcode: 'M_FORBIDDEN' }, 403))).toBe(false);
    expect(isTransientFailure(undefined)).toBe(false);

    const failures = [new ConnectionError('down'), new MatrixError({ errcode: 'M_UNKNOWN' }, 503)];
    let tries = 0;
    const ok = await retryTransient(async () => {
      tries++;
      const f = failures.shift();
      if (f) throw f;
      return 'sent';
    });
    expect([ok, tries]).toEqual(['sent', 3]);

    let limited = 0;
    await expect(
      retryTransient(async () => {
        limited++;
        throw new MatrixError({ errcode: 'M_LIMIT_EXCEEDED' }, 429);
      }),
    ).rejects.toThrow();
    expect(limited).toBe(1);
  });

  it('stops retrying once the client is stopped or the time is up', async () => {
    let tries = 0;
    const fail = async () => {
      tries++;
      throw new ConnectionError('down');
    };
    await expect(retryTransient(fail, { stopped: () => true })).rejects.toThrow('down');
    expect(tries).toBe(1);
    tries = 0;
    await expect(retryTransient(fail, { totalMs: 150 })).rejects.toThrow('down');
    expect(tries).toBeGreaterThan(1);
    expect(tries).toBeLessThan(5);
  });
});
