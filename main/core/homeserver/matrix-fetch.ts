// The app's one Matrix retry policy. The fetch every Matrix client of the app uses: a 429 M_LIMIT_EXCEEDED answer
// is waited out (Retry-After, or the body's retry_after_ms) and the same request sent again, so provisioning a
// team, the owner's key device and the bots' sends keep working on a homeserver with stock rate limits (a default
// Synapse allows 3 registrations in a burst, then one every 6 s). Waits are bounded; past the bound the 429 goes
// back to the caller as it came. And the wait for an idempotent request (a send under a transaction id) while
// the homeserver is away or failing (no connection, 5xx): retryTransient. Nothing else in the app retries a
// Matrix request on its own.

import { ConnectionError } from 'matrix-js-sdk';
import { sleep } from '../async.ts';

export interface RateLimitLogger {
  warn(obj: object, msg?: string): void;
}

export interface RateLimitOptions {
  logger?: RateLimitLogger;
  /** The longest single wait asked for that is honoured; default 60 s. */
  maxWaitMs?: number;
  /** All waits of one request together; default 3 min. */
  maxTotalMs?: number;
  /** Without an answer on how long: 1 s, doubling. */
  defaultWaitMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller then sends no more). */
const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> => sleep(ms, signal).catch(() => undefined);

/** How long the server asked to wait: the Retry-After header (seconds), else the body's retry_after_ms. */
export async function retryAfterMs(res: Response): Promise<number | undefined> {
  const header = res.headers.get('retry-after');
  if (header !== null && /^\d+(\.\d+)?$/.test(header.trim())) return Math.round(Number(header) * 1000);
  try {
    const body = (await res.clone().json()) as { retry_after_ms?: unknown };
    return typeof body.retry_after_ms === 'number' && body.retry_after_ms >= 0 ? body.retry_after_ms : undefined;
  } catch {
    return undefined;
  }
}

const pathOf = (input: Parameters<typeof fetch>[0]): string => {
  try {
    return new URL(input instanceof Request ? input.url : String(input)).pathname;
  } catch {
    return '?';
  }
};

/** The fetches rateLimitedFetch made: wrapping one of them again would stack a second policy on the first. */
const rateLimited = new WeakSet<typeof fetch>();

/** `base` with the 429 policy; a fetch that already has it comes back as it is (its own options stay). */
export function rateLimitedFetch(base: typeof fetch, opts: RateLimitOptions = {}): typeof fetch {
  if (rateLimited.has(base)) return base;
  const maxWait = opts.maxWaitMs ?? 60_000;
  const maxTotal = opts.maxTotalMs ?? 180_000;
  const sleep = opts.sleep ?? abortableSleep;
  const limited: typeof fetch = async (input, init) => {
    // A streamed body cannot be sent twice: such a request gets one try, as before.
    const resendable = init?.body === undefined || init.body === null || !(init.body instanceof ReadableStream);
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      const res = await base(input, init);
      if (res.status !== 429 || !resendable) return res;
      const wait = (await retryAfterMs(res)) ?? (opts.defaultWaitMs ?? 1000) * 2 ** attempt;
      if (wait > maxWait || waited + wait > maxTotal || init?.signal?.aborted) return res;
      opts.logger?.warn(
        { path: pathOf(input), waitMs: wait },
        'the homeserver asks to slow down; sending again after the wait',
      );
      await res.body?.cancel().catch(() => undefined);
      await sleep(wait, init?.signal ?? undefined);
      waited += wait;
      if (init?.signal?.aborted) return base(input, init);
    }
  };
  rateLimited.add(limited);
  return limited;
}

/** How long an idempotent request keeps being retried while the homeserver is unreachable or answers 5xx. */
export const TRANSIENT_RETRY_MS = 30_000;

/**
 * The homeserver away (no connection: the supervisor restarts it within seconds) or failing (5xx). Not a 429:
 * rateLimitedFetch has waited that out already, and a 429 left over asks for a wait longer than it allows.
 * No other 4xx: the request itself was refused.
 */
export function isTransientFailure(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  const status = (err as { httpStatus?: unknown } | undefined)?.httpStatus;
  return typeof status === 'number' && status >= 500;
}

export interface TransientRetryOptions {
  /** Checked after each failure: true ends the retries (the client stops). */
  stopped?: () => boolean;
  /** Default TRANSIENT_RETRY_MS. */
  totalMs?: number;
}

/**
 * Runs an idempotent request (the same transaction id every time, so the server takes it once) and, on a
 * transient failure, again after 100 ms, doubling to 2 s, until `totalMs` has passed.
 */
export async function retryTransient<T>(request: () => Promise<T>, o: TransientRetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.totalMs ?? TRANSIENT_RETRY_MS);
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (o.stopped?.() || !isTransientFailure(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
}
