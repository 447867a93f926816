// The selector's figures since this start: per task (and for requests with none), how many requests, which
// models answered them, how many stayed on this machine, and the median time to the full answer.
import type { TaskFigures } from '../../common/inference-types.ts';

/** The bucket for requests that no task took (the bot's own model answered). */
export const NO_TASK = '(no task)';
const KEEP_DURATIONS = 500;

interface Bucket {
  requests: number;
  local: number;
  cloud: number;
  refused: number;
  models: Map<string, number>;
  durations: number[];
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export class TaskStats {
  readonly #buckets = new Map<string, Bucket>();

  #bucket(task: string | undefined): Bucket {
    const key = task ?? NO_TASK;
    let b = this.#buckets.get(key);
    if (!b) {
      b = { requests: 0, local: 0, cloud: 0, refused: 0, models: new Map(), durations: [] };
      this.#buckets.set(key, b);
    }
    return b;
  }

  /** A request answered by `model` in `durationMs`. */
  answered(task: string | undefined, model: string, local: boolean, durationMs: number): void {
    const b = this.#bucket(task);
    b.requests++;
    if (local) b.local++;
    else b.cloud++;
    b.models.set(model, (b.models.get(model) ?? 0) + 1);
    b.durations.push(durationMs);
    if (b.durations.length > KEEP_DURATIONS) b.durations.shift();
  }

  /** A request no model answered (refused, or every model failed). */
  unanswered(task: string | undefined): void {
    const b = this.#bucket(task);
    b.requests++;
    b.refused++;
  }

  figures(): TaskFigures[] {
    return [...this.#buckets.entries()].map(([task, b]) => ({
      task,
      requests: b.requests,
      local: b.local,
      cloud: b.cloud,
      unanswered: b.refused,
      models: Object.fromEntries(b.models),
      p50Ms: median(b.durations),
    }));
  }
}
