// The rate-limit-aware fetch: a 429 is waited out as the server asks and the same request sent again; too long a
// wait, a streamed body or an abort give the 429 back as it came.
import { describe, expect, it } from 'vitest';
import { rateLimitedFetch, retryAfterMs } from '../../main/core/homeserver/matrix-fetch.ts';

const limited = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', ...body }), {
    status: 429,
    headers: { 'content-type': 'application/json', ...headers },
  });

function scripted(answers: Array<() => Response>) {
  const seen: Array<{ url: string; body: unknown }> = [];
  const base: typeof fetch = async (input, init) => {
    seen.push({ url: String(input), body: init?.body });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  };
  return { base, seen };
}

describe('rateLimitedFetch', () => {
  it('waits as long as Retry-After or retry_after_ms says and sends the same request again', async () => {
    const { base, seen } = scripted([
      () => limited({}, { 'retry-after': '2' }),
      () => limited({ retry_after_ms: 750 }),
      () => new Response('{"ok":true}', { status: 200 }),
    ]);
    const waits: number[] = [];
    const warnings: object[] = [];
    const f = rateLimitedFetch(base, {
      sleep: async (ms) => void waits.push(ms),
      logger: { warn: (o) => warnings.push(o) },
    });
    const res = await f('http://hs.test/_matrix/client/v3/register?kind=user', {
      method: 'POST',
      body: '{"username":"a"}',
    });
    expect(await res.json()).toEqual({ ok: true });
    expect(waits).toEqual([2000, 750]);
    expect(seen.map((s) => s.body)).toEqual(['{"username":"a"}', '{"username":"a"}', '{"username":"a"}']);
    // Logged by path only (no query string, no tokens).
    expect(warnings).toEqual([
      { path: '/_matrix/client/v3/register', waitMs: 2000 },
      { path: '/_matrix/client/v3/register', waitMs: 750 },
    ]);
  });

  it('backs off 1 s, 2 s… when the server does not say how long', async () => {
    const { base } = scripted([
      () => new Response('nope', { status: 429 }),
      () => new Response('nope', { status: 429 }),
      () => new Response('{}', { status: 200 }),
    ]);
    const waits: number[] = [];
    const res = await rateLimitedFetch(base, { sleep: async (ms) => void waits.push(ms) })('http://hs.test/x');
    expect(res.status).toBe(200);
    expect(waits).toEqual([1000, 2000]);
  });

  it('gives the 429 back, readable, when the wait is longer than allowed or the total runs out', async () => {
    const { base } = scripted([() => limited({ retry_after_ms: 300_000 })]);
    const res = await rateLimitedFetch(base, { sleep: async () => undefined })('http://hs.test/login', {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { retry_after_ms: number }).retry_after_ms).toBe(300_000);

    const many = scripted(Array.from({ length: 10 }, () => () => limited({ retry_after_ms: 40_000 })));
    const waits: number[] = [];
    const last = await rateLimitedFetch(many.base, { sleep: async (ms) => void waits.push(ms), maxTotalMs: 100_000 })(
      'http://hs.test/send',
    );
    expect(last.status).toBe(429);
    expect(waits).toEqual([40_000, 40_000]);
  });

  it('does not send a streamed body twice, and stops waiting when the request is aborted', async () => {
    const { base, seen } = scripted([() => limited({ retry_after_ms: 10 })]);
    const stream = new ReadableStream({ start: (c) => c.close() });
    expect(
      (
        await rateLimitedFetch(base)('http://hs.test/upload', {
          method: 'POST',
          body: stream,
          duplex: 'half',
        } as RequestInit)
      ).status,
    ).toBe(429);
    expect(seen).toHaveLength(1);

    const ctrl = new AbortController();
    const aborted = scripted([() => limited({ retry_after_ms: 30_000 })]);
    const pending = rateLimitedFetch(async (input, init) => {
      if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
      return aborted.base(input, init);
    })('http://hs.test/sync', { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 20);
    await expect(pending).rejects.toThrow(/aborted/);
  });

  it('reads the wait from either place', async () => {
    expect(await retryAfterMs(limited({}, { 'retry-after': '1.5' }))).toBe(1500);
    expect(await retryAfterMs(limited({ retry_after_ms: 1234 }))).toBe(1234);
    expect(await retryAfterMs(new Response('<html>', { status: 429 }))).toBeUndefined();
  });
});

describe('rateLimitWait (the owner verifies the bots after a sign-in limit)', () => {
  it('takes the wait a 429 asks for, bounded, and nothing from other failures', async () => {
    const { MatrixError } = await import('matrix-js-sdk');
    const { rateLimitWait } = await import('../../main/core/bots/bots-service.ts');
    const limit = (data: Record<string, unknown>) =>
      new MatrixError({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', ...data }, 429);
    expect(rateLimitWait(limit({ retry_after_ms: 283_000 }))).toBe(283_500);
    expect(rateLimitWait(limit({}))).toBe(60_000);
    expect(rateLimitWait(limit({ retry_after_ms: 3_600_000 }))).toBe(20 * 60_000);
    expect(rateLimitWait(new MatrixError({ errcode: 'M_FORBIDDEN', error: 'no' }, 403))).toBeUndefined();
    expect(rateLimitWait(new Error('ECONNREFUSED'))).toBeUndefined();
  });
});
