// Edit throttling, the loop guard and the per-sender rate limit, driven by explicit clock values.
import { describe, expect, it } from 'vitest';
import { EditThrottle } from '../../main/core/bots/throttle.ts';
import { maxPerSecond } from '../support/send-rate.ts';
import { LoopGuard } from '../../main/core/bots/loop-guard.ts';
import { SenderRateLimiter } from '../../main/core/bots/rate-limit.ts';

describe('EditThrottle', () => {
  it.each([
    // [editsPerSecond, sends at, asked at, expected delay]
    [2, [], 0, 0],
    [2, [0], 100, 400],
    [2, [0], 500, 0],
    [2, [0, 500], 700, 300],
    [4, [0], 100, 150],
    [1, [1000], 1500, 500],
  ])('eps %d, sent %j, at %d → wait %d', (eps, sent, at, delay) => {
    const t = new EditThrottle(eps);
    for (const s of sent) t.markSent(s);
    expect(t.delayMs(at)).toBe(delay);
  });
  it('rejects a zero rate', () => expect(() => new EditThrottle(0)).toThrow(RangeError));
  it.each([
    [[], 0],
    [[0, 500, 1000, 1500], 2],
    [[0, 100, 200, 1300], 3],
  ])('maxPerSecond(%j) = %d', (times, n) => expect(maxPerSecond(times)).toBe(n));
});

describe('LoopGuard', () => {
  const base = { roomId: '!r', botUserId: '@b:x', sender: '@p:x', senderIsBot: false, triggerId: '$h' };
  it.each([
    ['a person starts a turn', base, { ok: true, turn: { origin: '$h', hop: 1 } }],
    ['a bot never answers itself', { ...base, sender: '@b:x', senderIsBot: true }, { ok: false, reason: 'self' }],
    [
      'hop 1 may trigger',
      { ...base, sender: '@a:x', senderIsBot: true, turn: { origin: '$h0', hop: 1 } },
      { ok: true, turn: { origin: '$h0', hop: 2 } },
    ],
    [
      'hop 3 may trigger (3 bot-triggered replies)',
      { ...base, sender: '@a:x', senderIsBot: true, turn: { origin: '$h0', hop: 3 } },
      { ok: true, turn: { origin: '$h0', hop: 4 } },
    ],
    [
      'hop 4 trips',
      { ...base, sender: '@a:x', senderIsBot: true, turn: { origin: '$h0', hop: 4 } },
      { ok: false, reason: 'hops' },
    ],
    [
      'thread carried',
      { ...base, sender: '@a:x', senderIsBot: true, turn: { origin: '$h0', hop: 1, thread: '$t' } },
      { ok: true, turn: { origin: '$h0', hop: 2, thread: '$t' } },
    ],
  ])('%s', (_n, req, out) => {
    expect(new LoopGuard({ maxHops: 3, roomTokensPerHour: 0 }).check(req, 0)).toEqual(out);
  });
  it('maxHops 0: bots never trigger each other', () => {
    const g = new LoopGuard({ maxHops: 0, roomTokensPerHour: 0 });
    expect(g.check({ ...base, sender: '@a:x', senderIsBot: true, turn: { origin: '$h', hop: 1 } }, 0)).toEqual({
      ok: false,
      reason: 'hops',
    });
    expect(g.trips.hops).toBe(1);
  });
  it('the hourly room budget trips and recovers after an hour', () => {
    const g = new LoopGuard({ maxHops: 3, roomTokensPerHour: 100 });
    g.record('!r', 60, 0);
    expect(g.check(base, 1000).ok).toBe(true);
    g.record('!r', 60, 2000);
    expect(g.check(base, 3000)).toEqual({ ok: false, reason: 'budget' });
    expect(g.check({ ...base, roomId: '!other' }, 3000).ok).toBe(true);
    expect(g.check(base, 3_600_001).ok).toBe(true);
    expect(g.totalTrips).toBe(1);
  });
});

describe('SenderRateLimiter', () => {
  it('allows maxRequests per window and notifies once per window', () => {
    const r = new SenderRateLimiter({ maxRequests: 2, windowSeconds: 10 });
    const seq = [0, 1000, 2000, 3000, 4000, 10_500, 10_600, 12_100, 13_000, 23_000].map((t) => {
      const d = r.check('@p', t);
      return `${d.allowed ? 'ok' : 'no'}${d.notify ? '!' : ''}`;
    });
    // 0,1000 allowed; 2000 limited + notice; 3000/4000 silent; 10500 ok (0 expired); 10600 limited, the notice
    // at 2000 is in this window → silent; 12100 ok (1000 expired); 13000 limited, notice 11 s ago → once more.
    expect(seq).toEqual(['ok', 'ok', 'no!', 'no', 'no', 'ok', 'no', 'ok', 'no!', 'ok']);
    expect(r.limited).toBe(5);
  });
  it('counts senders separately', () => {
    const r = new SenderRateLimiter({ maxRequests: 1, windowSeconds: 60 });
    expect(r.check('@a', 0).allowed).toBe(true);
    expect(r.check('@b', 0).allowed).toBe(true);
    expect(r.check('@a', 1).allowed).toBe(false);
  });
});
