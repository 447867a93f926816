// The bots in a thread are read from the room's history once after a restart, also when none is in it yet: a
// person's every message in a bot-less thread must not read the history again (it is on the routing path).
import { describe, expect, it } from 'vitest';
import type { Worker } from '../../main/core/bots/runner-types.ts';
import { ThreadMembers } from '../../main/core/bots/runner-workers.ts';
import type { RawEvent } from '../../main/core/bots/types.ts';

const BOT = '@qwen:hs';
const inThread = (id: string, sender: string): RawEvent => ({
  event_id: id,
  type: 'm.room.message',
  sender,
  origin_server_ts: 1,
  content: { body: id, 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } },
});

function worker(events: RawEvent[]) {
  let reads = 0;
  const w = { conn: { recentEvents: async () => (reads++, events) } } as unknown as Worker;
  return { w, reads: () => reads };
}

describe('ThreadMembers', () => {
  it('reads a thread with no bot once, then adds the bots that join it as their messages arrive', async () => {
    const threads = new ThreadMembers();
    const { w, reads } = worker([inThread('$a', '@ada:hs')]);
    expect(await threads.of(w, '!r', '$root', new Set([BOT]))).toEqual([]);
    expect(await threads.of(w, '!r', '$root', new Set([BOT]))).toEqual([]);
    expect(reads()).toBe(1);
    threads.note('$root', BOT);
    expect(await threads.of(w, '!r', '$root', new Set([BOT]))).toEqual([BOT]);
    expect(reads()).toBe(1);
  });

  it('finds the bots already in the thread from its history', async () => {
    const threads = new ThreadMembers();
    const { w } = worker([inThread('$a', '@ada:hs'), inThread('$b', BOT), inThread('$c', BOT)]);
    expect(await threads.of(w, '!r', '$root', new Set([BOT]))).toEqual([BOT]);
  });
});
