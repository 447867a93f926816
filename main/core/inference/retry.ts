// Retries with exponential backoff for HTTP backends, honouring Retry-After. Only the opening of a
// request is retried: once text reached the caller, a retry would mix two replies, so callers stream
// outside withRetry.
import { systemClock, type Clock } from './rate-limit.ts';
import { InferenceError, isInferenceError } from './types.ts';

export interface RetryPolicy {
  /** Attempts after the first. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error goes to the caller (router falls back). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date. Returns milliseconds, or undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Which errors are worth another attempt: rate limits, server errors, timeouts, lost connections. */
export function isRetryable(err: unknown): boolean {
  return (
    isInferenceError(err) && (err.code === 'RateLimited' || err.code === 'BackendUnavailable' || err.code === 'Timeout')
  );
}

/**
 * The wait before attempt `attempt` (1 = first retry): Retry-After when the server gave one,
 * otherwise exponential backoff with full jitter. `random` is injectable for tests.
 */
export function retryDelayMs(
  attempt: number,
  err: unknown,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  if (isInferenceError(err) && err.retryAfterMs !== undefined) return err.retryAfterMs;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export interface RetryOptions {
  policy?: RetryPolicy;
  clock?: Clock;
  signal?: AbortSignal;
  random?: () => number;
  /** Called before each wait, for logs. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** Runs `attempt` until it succeeds, a non-retryable error occurs, or retries run out. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? systemClock;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (options.signal?.aborted) {
        throw isInferenceError(err, 'Aborted')
          ? err
          : new InferenceError('Aborted', 'The request was stopped.', { cause: err });
      }
      if (!isRetryable(err) || n >= policy.maxRetries) throw err;
      const delayMs = retryDelayMs(n + 1, err, policy, options.random);
      if (delayMs > policy.maxRetryAfterMs) throw err;
      options.onRetry?.({ attempt: n + 1, delayMs, error: err });
      await clock.sleep(delayMs, options.signal);
    }
  }
}
