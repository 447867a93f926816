// Making room in the model pool, decided without side effects: whether a new model fits beside the loaded ones, and
// if not, which idle, unpinned model goes first (least recently used), or that the load must wait for one.
import { InferenceError } from '../types.ts';
import { mib } from './pool-support.ts';

/** What the decision reads of a loaded model. */
export interface LoadedModel {
  sizeBytes: number;
  /** Requests that hold or wait for it: it is not evicted while any. */
  claims: number;
  pinned: boolean;
  lastUsedAt: number;
}

export type RoomStep<T> =
  | { kind: 'fits' }
  | { kind: 'evict'; victim: T; reason: 'lru' | 'budget' }
  /** Every model in the way is busy: wait until a request lets one go. */
  | { kind: 'wait' };

/** The next step to fit the model at `path` (`sizeBytes`) beside `loaded`; throws when it can never fit. */
export function nextRoomStep<T extends LoadedModel>(
  path: string,
  sizeBytes: number,
  loaded: readonly T[],
  limits: { maxLoaded: number; budgetBytes: number },
): RoomStep<T> {
  const budget = limits.budgetBytes;
  if (sizeBytes > budget) {
    throw new InferenceError(
      'OutOfMemory',
      `${path} needs about ${mib(sizeBytes)} MiB; the memory budget is ${mib(budget)} MiB.`,
    );
  }
  const used = loaded.reduce((sum, e) => sum + e.sizeBytes, 0);
  const tooMany = loaded.length >= limits.maxLoaded;
  const tooBig = used + sizeBytes > budget;
  if (!tooMany && !tooBig) return { kind: 'fits' };
  const victim = loaded.filter((e) => e.claims === 0 && !e.pinned).sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
  if (victim) return { kind: 'evict', victim, reason: tooMany ? 'lru' : 'budget' };
  if (loaded.every((e) => e.pinned)) {
    throw new InferenceError('OutOfMemory', `${path} cannot be loaded: the pinned models fill the pool.`, {
      hint: 'Unpin a model or raise the number of models kept loaded and the memory budget.',
    });
  }
  return { kind: 'wait' };
}
