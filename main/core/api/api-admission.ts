// Who gets in, per API key: at most `requestsPerMinute` requests started in any minute, at most `maxConcurrent`
// running, and at most `maxQueued` waiting behind them in order; past either limit the answer is 429 with a
// Retry-After (the rate window's next free slot, or the queue's expected wait from recent request times).
// A request that leaves while it waits (the client closed the connection) leaves the queue at once.
import { ApiError } from './api-errors.ts';

export interface ApiLimits {
  requestsPerMinute: number;
  maxConcurrent: number;
  maxQueued: number;
}

export interface AdmissionTicket {
  /** How long the request waited in its key's queue. */
  waitedMs: number;
  /** The request ended: the next waiting one of the key starts. Idempotent. */
  release(): void;
}

export interface AdmissionStats {
  running: number;
  queued: number;
  /** Requests refused with 429 since the start. */
  refused: number;
}

interface Waiter {
  start(): void;
}

interface KeyState {
  /** When each request of the last minute was admitted (running or queued), oldest first. */
  started: number[];
  running: number;
  queue: Waiter[];
}

const WINDOW_MS = 60_000;

export class ApiAdmission {
  readonly #keys = new Map<string, KeyState>();
  readonly #now: () => number;
  /** Recent request time (moving average), for the queue's Retry-After. */
  #avgMs = 1000;
  #refused = 0;

  constructor(private readonly options: { limits: () => ApiLimits; now?: () => number }) {
    this.#now = options.now ?? (() => Date.now());
  }

  /** Resolves when the request may run; rejects with a 429 ApiError, or a 499 when the signal aborts its wait. */
  admit(key: string, signal?: AbortSignal): Promise<AdmissionTicket> {
    const limits = this.options.limits();
    const now = this.#now();
    const k = this.#key(key);
    while (k.started.length > 0 && k.started[0]! <= now - WINDOW_MS) k.started.shift();
    if (k.started.length >= limits.requestsPerMinute) {
      this.#refused++;
      const retry = Math.max(1, Math.ceil((k.started[0]! + WINDOW_MS - now) / 1000));
      return Promise.reject(
        new ApiError(
          429,
          `Rate limit reached for API key "${key}": ${limits.requestsPerMinute} requests per minute. Try again in ${retry} s.`,
          'rate_limit_error',
          'rate_limit_exceeded',
          null,
          retry,
        ),
      );
    }
    if (k.running < limits.maxConcurrent) {
      k.started.push(now);
      k.running++;
      return Promise.resolve(this.#ticket(k, 0));
    }
    if (k.queue.length >= limits.maxQueued) {
      this.#refused++;
      const retry = Math.min(
        60,
        Math.max(1, Math.ceil((this.#avgMs * (k.queue.length + 1)) / limits.maxConcurrent / 1000)),
      );
      return Promise.reject(
        new ApiError(
          429,
          `Too many requests at once for API key "${key}": ${limits.maxConcurrent} run and ${limits.maxQueued} wait already. Try again in ${retry} s.`,
          'rate_limit_error',
          'queue_full',
          null,
          retry,
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(clientGone());
    k.started.push(now);
    return new Promise<AdmissionTicket>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          k.running++;
          resolve(this.#ticket(k, this.#now() - now));
        },
      };
      const onAbort = () => {
        const i = k.queue.indexOf(waiter);
        if (i >= 0) k.queue.splice(i, 1);
        reject(clientGone());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      k.queue.push(waiter);
    });
  }

  stats(): AdmissionStats {
    let running = 0;
    let queued = 0;
    for (const k of this.#keys.values()) {
      running += k.running;
      queued += k.queue.length;
    }
    return { running, queued, refused: this.#refused };
  }

  #key(key: string): KeyState {
    let k = this.#keys.get(key);
    if (!k) {
      k = { started: [], running: 0, queue: [] };
      this.#keys.set(key, k);
    }
    return k;
  }

  #ticket(k: KeyState, waitedMs: number): AdmissionTicket {
    const startedAt = this.#now();
    let released = false;
    return {
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        k.running--;
        this.#avgMs = this.#avgMs * 0.8 + (this.#now() - startedAt) * 0.2;
        const max = this.options.limits().maxConcurrent;
        while (k.running < max && k.queue.length > 0) k.queue.shift()!.start();
      },
    };
  }
}

function clientGone(): ApiError {
  return new ApiError(499, 'The client closed the connection.', 'invalid_request_error', 'client_closed');
}
