// Small pieces the model pool shares with the stream: its clock, events, status and abort helpers.
import { InferenceError } from '../types.ts';

export interface PoolClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: PoolClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type PoolEvent =
  | { type: 'loading'; path: string }
  | { type: 'loaded'; path: string; sizeBytes: number; ms: number }
  | { type: 'load-failed'; path: string; error: InferenceError }
  | { type: 'unloaded'; path: string; reason: 'lru' | 'budget' | 'keep-alive' | 'manual' | 'close' };

export interface PooledModelStatus {
  path: string;
  state: 'loading' | 'ready';
  sizeBytes: number;
  lastUsedAt: number;
  pinned: boolean;
  activeRequests: number;
  /** Context sequences handed to requests and not given back yet (0 once every request ended). */
  sequencesInUse: number;
  /** Requests waiting for a sequence while all are busy. */
  waitingForSequence: number;
  keepAliveMs: number;
}

export function abortedError(): InferenceError {
  return new InferenceError('Aborted', 'The request was stopped.');
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function mib(bytes: number): number {
  return Math.round(bytes / 1048576);
}
