// The Stop button and the streaming look follow the bots replying in this room: typing there, and not yet past the
// final edit of the reply that typing began (typing's stop may come seconds after the final edit, or not at all).
import { describe, expect, it } from 'vitest';
import { latestBySender, ReplyTracker } from '../../renderer/src/lib/replying.ts';
import type { DisplayMessage } from '../../renderer/src/lib/timeline.ts';

const msg = (eventId: string, sender: string, ts: number, final: boolean): DisplayMessage => ({
  eventId,
  sender,
  ts,
  final,
  content: { body: eventId },
  edited: false,
  redacted: false,
  pending: false,
  failed: false,
  encrypted: false,
  e2e: false,
  threadReplies: 0,
});
const latest = (...msgs: DisplayMessage[]) => latestBySender(msgs);
const BOT = '@qwen:x';

describe('ReplyTracker', () => {
  it('a reply ends with its final edit even while the bot still types', () => {
    const t = new ReplyTracker();
    expect([...t.observe([BOT], latest())]).toEqual([BOT]); // took the mention: typing, nothing sent yet
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, false)))]).toEqual([BOT]); // streaming
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true)))]).toEqual([]); // final edit; typing lags
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true)))]).toEqual([]); // a re-render changes nothing
    expect([...t.observe([], latest(msg('$r1', BOT, 1, true)))]).toEqual([]);
  });

  it('the next mention shows it replying again from its typing, before its first words', () => {
    const t = new ReplyTracker();
    t.observe([], latest(msg('$r1', BOT, 1, true)));
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true)))]).toEqual([BOT]);
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true), msg('$r2', BOT, 2, false)))]).toEqual([BOT]);
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true), msg('$r2', BOT, 2, true)))]).toEqual([]);
  });

  it('a stale typing that never stopped shows nothing, until a new reply streams', () => {
    const t = new ReplyTracker();
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true)))]).toEqual([]); // window opened after the reply
    expect([...t.observe([BOT], latest(msg('$r1', BOT, 1, true), msg('$r2', BOT, 2, false)))]).toEqual([BOT]);
  });

  it('a bot that does not type here (busy in another room) is not replying here', () => {
    const t = new ReplyTracker();
    expect([...t.observe([], latest(msg('$r1', BOT, 1, false)))]).toEqual([]);
  });

  it('latestBySender takes the newest message of each sender', () => {
    const m = latest(msg('$a', BOT, 1, true), msg('$b', '@me:x', 2, false), msg('$c', BOT, 3, false));
    expect(m.get(BOT)?.eventId).toBe('$c');
    expect(m.get('@me:x')?.eventId).toBe('$b');
  });
});
