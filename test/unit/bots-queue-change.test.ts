// The bots' status (busy, queued) is sent to the chat window on each queue change: the last change after a reply
// must already count it as ended, or the window shows a bot busy (and its Stop button) until something else changes.
import { describe, expect, it } from 'vitest';
import { RoomQueues, type Job } from '../../main/core/bots/queue.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('RoomQueues onChange', () => {
  it('reports each job queued, started and ended, with counts that are already true', async () => {
    const seen: Array<{ queued: number; running: number }> = [];
    const q: RoomQueues = new RoomQueues({ maxConcurrent: 1, onChange: () => seen.push(q.counts()) });
    const first = gate();
    const second = gate();
    const job = (key: string, g: ReturnType<typeof gate>): Job => ({
      key,
      roomId: '!r',
      eventId: `$${key}`,
      botId: 'qwen',
      run: () => g.opened,
    });
    q.enqueue(job('a', first));
    q.enqueue(job('b', second));
    expect(seen).toEqual([
      { queued: 0, running: 1 },
      { queued: 1, running: 1 },
    ]);
    first.open();
    await new Promise((r) => setTimeout(r, 0));
    // a ended and b started in one change
    expect(seen.at(-1)).toEqual({ queued: 0, running: 1 });
    second.open();
    await q.idle();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen.at(-1)).toEqual({ queued: 0, running: 0 });
  });

  it('reports a cancelled waiting job, and nothing when nothing matched', async () => {
    const changes: number[] = [];
    const q: RoomQueues = new RoomQueues({ maxConcurrent: 1, onChange: () => changes.push(q.counts().queued) });
    const g = gate();
    q.enqueue({ key: 'a', roomId: '!r', eventId: '$a', botId: 'qwen', run: () => g.opened });
    q.enqueue({ key: 'b', roomId: '!r', eventId: '$b', botId: 'qwen', run: () => g.opened });
    expect(q.cancel((j) => j.eventId === '$b', 'redacted')).toBe(1);
    expect(changes.at(-1)).toBe(0);
    const before = changes.length;
    expect(q.cancel((j) => j.eventId === '$zz', 'redacted')).toBe(0);
    expect(changes.length).toBe(before);
    g.open();
    await q.idle();
  });
});

describe('RoomQueues dropped', () => {
  it('tells a waiting job it was dropped (so it stops holding the sync token back); a running one is aborted instead', async () => {
    const q = new RoomQueues({ maxConcurrent: 1 });
    const g = gate();
    const dropped: string[] = [];
    let aborted = false;
    q.enqueue({
      key: 'a',
      roomId: '!r',
      eventId: '$a',
      botId: 'qwen',
      run: (signal) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          g.open();
        });
        return g.opened;
      },
      dropped: (r) => dropped.push(`a:${r}`),
    });
    q.enqueue({
      key: 'b',
      roomId: '!r',
      eventId: '$b',
      botId: 'qwen',
      run: () => Promise.resolve(),
      dropped: (r) => dropped.push(`b:${r}`),
    });
    expect(q.cancel(() => true, 'stopped')).toBe(2);
    await q.idle();
    expect(dropped).toEqual(['b:stopped']);
    expect(aborted).toBe(true);
  });
});
