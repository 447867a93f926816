// Edit throttling for streamed replies: the first chunk is sent at once, later edits at most
// `editsPerSecond` a second, and the final edit always (after the interval, so the rate holds).

export class EditThrottle {
  readonly intervalMs: number;
  #lastSentAt: number | undefined;

  constructor(editsPerSecond = 2) {
    if (!(editsPerSecond > 0)) throw new RangeError('editsPerSecond must be above 0');
    this.intervalMs = 1000 / editsPerSecond;
  }

  /** Milliseconds to wait before the next send may go out; 0 = now. The first send never waits. */
  delayMs(now: number): number {
    if (this.#lastSentAt === undefined) return 0;
    return Math.max(0, this.#lastSentAt + this.intervalMs - now);
  }

  markSent(now: number): void {
    this.#lastSentAt = now;
  }
}
