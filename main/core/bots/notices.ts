// What the bots say when a mention is not answered the usual way, so none is ever dropped without a word:
// a full queue (once per sender per burst), history passed over when a bot first reads a room (once), and a
// sync gap the homeserver could not fill (once per room while it lasts). Texts and decisions are pure; the
// small state kept here remembers who was already told (and counts the sync gaps).

export interface QueueLimits {
  maxQueuedPerRoom: number;
  maxQueued: number;
}

export type Admission = { ok: true } | { ok: false; scope: 'room' | 'all'; limit: number };

/** Decision: may one more mention be queued, given what waits or runs in its room and in all rooms? */
export function admit(inRoom: number, inAll: number, limits: QueueLimits): Admission {
  if (inRoom >= limits.maxQueuedPerRoom) return { ok: false, scope: 'room', limit: limits.maxQueuedPerRoom };
  if (inAll >= limits.maxQueued) return { ok: false, scope: 'all', limit: limits.maxQueued };
  return { ok: true };
}

export function queueFullNotice(senderName: string, scope: 'room' | 'all', limit: number): string {
  const where = scope === 'room' ? 'in this room' : 'across all rooms';
  const setting = scope === 'room' ? 'guard.maxQueuedPerRoom' : 'guard.maxQueued';
  return `${senderName}, ${limit} requests are already waiting ${where}, the most the bots queue, so your latest ones were not queued. Ask again once the answers above have arrived (or raise ${setting} in settings).`;
}

const time = (ts: number): string => new Date(ts).toLocaleString();

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  const sec = Math.round(ms / 1000);
  return m >= 1 ? `${m} minute${m === 1 ? '' : 's'}` : `${sec} second${sec === 1 ? '' : 's'}`;
}

export function skippedHistoryNotice(count: number, firstTs: number, lastTs: number, windowMs: number): string {
  const what = count === 1 ? '1 earlier message to me' : `${count} earlier messages to me`;
  const when = firstTs === lastTs ? `sent ${time(firstTs)}` : `sent between ${time(firstTs)} and ${time(lastTs)}`;
  return `I started reading this room just now, so I did not answer ${what} (${when}): I answer messages from the last ${minutes(windowMs)} when I join. Ask again if you still need an answer.`;
}

export function gapNotice(fromTs: number | undefined, untilTs: number | undefined, reason: string): string {
  const span =
    fromTs !== undefined && untilTs !== undefined
      ? `between ${time(fromTs)} and ${time(untilTs)}`
      : untilTs !== undefined
        ? `before ${time(untilTs)}`
        : 'just now';
  return `I may have missed messages in this room sent ${span}: the homeserver did not give them to me (${reason}). If you asked me something then, please ask again.`;
}

/** Who was already told that the queue is full: once per sender and room until that room's queue has room again. */
export class QueueFullNotices {
  readonly #told = new Set<string>();

  /** True when this sender should be told now (and remembers it). */
  shouldTell(roomId: string, sender: string): boolean {
    const key = `${roomId}\u0000${sender}`;
    if (this.#told.has(key)) return false;
    this.#told.add(key);
    return true;
  }

  /** The room's queue has room again: the next refusal in it is a new burst. */
  roomHasSpace(roomId: string): void {
    for (const key of this.#told) if (key.startsWith(`${roomId}\u0000`)) this.#told.delete(key);
  }
}

interface Skipped {
  count: number;
  firstTs: number;
  lastTs: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Mentions older than the history window, passed over when a bot first reads a room: gathered for a moment (they
 * come in one sync and its gap), then told once per bot and room.
 */
export class SkippedHistory {
  readonly #rooms = new Map<string, Skipped>();
  readonly #told = new Set<string>();

  constructor(
    private readonly tell: (botId: string, roomId: string, text: string) => void,
    private readonly gatherMs = 3000,
  ) {}

  add(botId: string, roomId: string, ts: number, windowMs: number): void {
    const key = `${botId}\u0000${roomId}`;
    if (this.#told.has(key)) return;
    const s = this.#rooms.get(key) ?? { count: 0, firstTs: ts, lastTs: ts, timer: undefined };
    s.count++;
    s.firstTs = Math.min(s.firstTs, ts);
    s.lastTs = Math.max(s.lastTs, ts);
    clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      this.#rooms.delete(key);
      this.#told.add(key);
      this.tell(botId, roomId, skippedHistoryNotice(s.count, s.firstTs, s.lastTs, windowMs));
    }, this.gatherMs);
    s.timer.unref();
    this.#rooms.set(key, s);
  }

  stop(): void {
    for (const s of this.#rooms.values()) clearTimeout(s.timer);
    this.#rooms.clear();
  }
}

/** Sync gaps since start (for the status), and when each room was last told of one that could not be filled. */
export class GapNotices {
  readonly counts = { filled: 0, recovered: 0, failed: 0 };
  readonly #toldAt = new Map<string, number>();

  filled(recovered: number): void {
    this.counts.filled++;
    this.counts.recovered += recovered;
  }

  /** Counts a gap that could not be paged back; true when its room is to be told now (once in a quiet while). */
  failed(roomId: string, now: number): boolean {
    this.counts.failed++;
    const last = this.#toldAt.get(roomId);
    if (last !== undefined && now - last < 10 * 60_000) return false;
    this.#toldAt.set(roomId, now);
    return true;
  }
}
