// Per-endpoint request rate limit (token bucket) and the clock it waits on, injectable for tests.
import { InferenceError } from './types.ts';

/** Time as the rate limiter and retries see it; tests pass a fake one. */
export interface Clock {
  now(): number;
  /** Resolves after ms; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortedError(signal));
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortedError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

function abortedError(signal?: AbortSignal): InferenceError {
  return new InferenceError('Aborted', 'The request was stopped while waiting to be sent.', { cause: signal?.reason });
}

export interface TokenBucketOptions {
  /** Tokens added per minute (the endpoint's requestsPerMinute). */
  perMinute: number;
  /** Most tokens held at once; defaults to perMinute (a full minute's burst). */
  capacity?: number;
  clock?: Clock;
}

/** A token bucket: each request takes one token; tokens refill continuously at perMinute. */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #capacity: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.#ratePerMs = options.perMinute / 60_000;
    this.#capacity = Math.max(1, options.capacity ?? options.perMinute);
    this.#clock = options.clock ?? systemClock;
    this.#tokens = this.#capacity;
    this.#last = this.#clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#ratePerMs);
    this.#last = now;
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes a token if one is there; otherwise says how long until one is. */
  tryTake(): { ok: true } | { ok: false; waitMs: number } {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: Math.ceil((1 - this.#tokens) / this.#ratePerMs) };
  }

  /** Waits for a token. Waiters are not strictly FIFO; each retries after the computed wait. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const r = this.tryTake();
      if (r.ok) return;
      await this.#clock.sleep(r.waitMs, signal);
    }
  }
}
