// Per-sender rate limit over a sliding window, with one polite notice per window so a limited
// sender is told once instead of on every message.

export interface RateLimitOptions {
  maxRequests: number;
  windowSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  /** True once per window for a limited sender: send the notice now. */
  notify: boolean;
  /** When the sender may ask again, in ms from now. */
  retryAfterMs: number;
}

export class SenderRateLimiter {
  readonly #hits = new Map<string, number[]>();
  readonly #noticeAt = new Map<string, number>();
  limited = 0;

  private options: RateLimitOptions;

  constructor(options: RateLimitOptions = { maxRequests: 10, windowSeconds: 60 }) {
    this.options = options;
  }

  setOptions(options: RateLimitOptions): void {
    this.options = options;
  }

  check(sender: string, now: number): RateDecision {
    const windowMs = this.options.windowSeconds * 1000;
    const hits = (this.#hits.get(sender) ?? []).filter((t) => now - t < windowMs);
    this.#hits.set(sender, hits);
    if (hits.length < this.options.maxRequests) {
      hits.push(now);
      return { allowed: true, notify: false, retryAfterMs: 0 };
    }
    this.limited++;
    const retryAfterMs = Math.max(0, hits[0]! + windowMs - now);
    const last = this.#noticeAt.get(sender);
    const notify = last === undefined || now - last >= windowMs;
    if (notify) this.#noticeAt.set(sender, now);
    return { allowed: false, notify, retryAfterMs };
  }
}

export function rateLimitNotice(displayName: string, retryAfterMs: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return `${displayName}, you are sending requests faster than the bots answer them. Please wait about ${seconds} s; messages until then are not answered.`;
}
