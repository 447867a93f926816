// Gap-free sync as pure decisions: which rooms of a /sync answer have a gap, how far a gap is paged back, and
// when a mention may be queued.
import { describe, expect, it } from 'vitest';
import { admit } from '../../main/core/bots/notices.ts';
import { fillGap, syncGaps, type MessagesPage } from '../../main/core/bots/sync-gaps.ts';
import type { RawEvent } from '../../main/core/bots/types.ts';

const ev = (n: number, ts = n * 1000): RawEvent =>
  ({
    event_id: `$${n}`,
    type: 'm.room.message',
    sender: '@a:x',
    origin_server_ts: ts,
    content: { body: `m${n}` },
  }) as RawEvent;

describe('syncGaps', () => {
  it.each([
    ['no rooms', {}, []],
    ['not limited', { rooms: { join: { '!r': { timeline: { limited: false, prev_batch: 'p', events: [] } } } } }, []],
    ['limited without prev_batch', { rooms: { join: { '!r': { timeline: { limited: true, events: [] } } } } }, []],
    [
      'limited',
      {
        rooms: {
          join: {
            '!r': { timeline: { limited: true, prev_batch: 'p1', events: [{ event_id: '$9', origin_server_ts: 9 }] } },
          },
        },
      },
      [{ roomId: '!r', since: 's0', prevBatch: 'p1', firstEventId: '$9', firstTs: 9 }],
    ],
    ['garbage', { rooms: { join: { '!r': null } } }, []],
  ])('%s', (_n, body, gaps) => expect(syncGaps(body, 's0')).toEqual(gaps));
});

describe('fillGap', () => {
  /** A room of events numbered from 1 served newest first from token `t<k>` (k = the newest event not yet given). */
  const room =
    () =>
    async (_r: string, from: string, to: string | undefined, limit: number): Promise<MessagesPage> => {
      const start = Number(from.slice(1));
      const stop = to ? Number(to.slice(1)) : 0;
      const chunk: RawEvent[] = [];
      for (let i = start; i > stop && chunk.length < limit; i--) chunk.push(ev(i));
      const last = start - chunk.length;
      return { chunk, ...(last > stop ? { end: `t${last}` } : {}) };
    };

  it('pages back to the since token over many pages, oldest first', async () => {
    const fill = await fillGap({ roomId: '!r', since: 't5', prevBatch: 't250' }, room(), {
      isKnown: () => false,
      pageSize: 40,
    });
    expect(fill.complete).toBe(true);
    expect(fill.events.map((e) => e.event_id)).toEqual(Array.from({ length: 245 }, (_, i) => `$${i + 6}`));
  });

  it('stops at an event it already had (a server that ignores the since token)', async () => {
    const fill = await fillGap({ roomId: '!r', since: undefined, prevBatch: 't20' }, room(), {
      isKnown: (id) => id === '$12',
    });
    expect(fill.events.map((e) => e.event_id)).toEqual(['$13', '$14', '$15', '$16', '$17', '$18', '$19', '$20']);
  });

  it('on a first sync stops past the history cut-off, keeping the first older event', async () => {
    const fill = await fillGap({ roomId: '!r', since: undefined, prevBatch: 't20' }, room(), {
      isKnown: () => false,
      notBeforeTs: 15_500,
    });
    expect(fill.events.map((e) => e.event_id)).toEqual(['$15', '$16', '$17', '$18', '$19', '$20']);
  });

  it('reports a gap larger than the cap as incomplete', async () => {
    const fill = await fillGap({ roomId: '!r', since: undefined, prevBatch: 't100' }, room(), {
      isKnown: () => false,
      maxEvents: 10,
    });
    expect(fill).toMatchObject({ complete: false });
    expect(fill.events).toHaveLength(10);
  });

  it('passes a server error on (the runner tells the room)', async () => {
    await expect(
      fillGap({ roomId: '!r', since: 's', prevBatch: 'p' }, () => Promise.reject(new Error('HTTP 500')), {
        isKnown: () => false,
      }),
    ).rejects.toThrow('HTTP 500');
  });
});

describe('admit', () => {
  it.each([
    [0, 0, { ok: true }],
    [199, 999, { ok: true }],
    [200, 200, { ok: false, scope: 'room', limit: 200 }],
    [5, 1000, { ok: false, scope: 'all', limit: 1000 }],
  ])('%d in the room, %d in all', (room, all, decision) =>
    expect(admit(room, all, { maxQueuedPerRoom: 200, maxQueued: 1000 })).toEqual(decision),
  );
});
