// A per-room ordered queue of reply jobs: one job at a time per room (replies come in the order
// asked, and each bot sees the previous bots' answers), rooms in parallel up to a bound.
// Jobs can be cancelled while waiting or running (redaction, !stop) and all are aborted on stop.

export interface Job {
  /** Unique per (event, bot). */
  key: string;
  roomId: string;
  /** The event the job answers. */
  eventId: string;
  botId: string;
  run(signal: AbortSignal): Promise<void>;
}

export class CancelledError extends Error {
  readonly reason: 'redacted' | 'stopped' | 'shutdown';
  constructor(reason: 'redacted' | 'stopped' | 'shutdown') {
    super(reason === 'redacted' ? 'The message was deleted.' : reason === 'stopped' ? 'Stopped with !stop.' : 'The bots are shutting down.');
    this.name = 'CancelledError';
    this.reason = reason;
  }
}

interface Entry {
  job: Job;
  controller: AbortController;
  running: boolean;
  done: Promise<void>;
  resolve: () => void;
}

export class RoomQueues {
  readonly #rooms = new Map<string, Entry[]>();
  readonly #keys = new Set<string>();
  #running = 0;
  #stopped = false;

  private readonly options: { maxConcurrent?: number; onError?: (job: Job, err: unknown) => void };

  constructor(options: { maxConcurrent?: number; onError?: (job: Job, err: unknown) => void } = {}) {
    this.options = options;
  }

  /** Queues a job; false when the same job is already queued or running, or after stop. */
  enqueue(job: Job): boolean {
    if (this.#stopped || this.#keys.has(job.key)) return false;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const entry: Entry = { job, controller: new AbortController(), running: false, done, resolve };
    this.#keys.add(job.key);
    const list = this.#rooms.get(job.roomId) ?? [];
    list.push(entry);
    this.#rooms.set(job.roomId, list);
    this.#pump();
    return true;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Cancels matching jobs: waiting ones are dropped, running ones aborted. Returns how many. */
  cancel(match: (job: Job) => boolean, reason: CancelledError['reason']): number {
    let n = 0;
    for (const [roomId, list] of this.#rooms) {
      for (const entry of [...list]) {
        if (!match(entry.job)) continue;
        n++;
        if (entry.running) entry.controller.abort(new CancelledError(reason));
        else this.#remove(roomId, entry);
      }
    }
    this.#pump();
    return n;
  }

  counts(botId?: string): { queued: number; running: number } {
    let queued = 0;
    let running = 0;
    for (const list of this.#rooms.values())
      for (const e of list) {
        if (botId !== undefined && e.job.botId !== botId) continue;
        if (e.running) running++;
        else queued++;
      }
    return { queued, running };
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    for (;;) {
      const all = [...this.#rooms.values()].flat();
      if (all.length === 0) return;
      await Promise.all(all.map((e) => e.done));
    }
  }

  /** Aborts everything; later enqueues are refused. */
  stop(): void {
    this.#stopped = true;
    this.cancel(() => true, 'shutdown');
  }

  #remove(roomId: string, entry: Entry): void {
    const list = this.#rooms.get(roomId) ?? [];
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#rooms.delete(roomId);
    this.#keys.delete(entry.job.key);
    entry.resolve();
  }

  #pump(): void {
    const max = this.options.maxConcurrent ?? Infinity;
    for (const [roomId, list] of this.#rooms) {
      if (this.#running >= max) return;
      const head = list[0];
      if (!head || head.running) continue;
      head.running = true;
      this.#running++;
      void head.job
        .run(head.controller.signal)
        .catch((err: unknown) => this.options.onError?.(head.job, err))
        .finally(() => {
          this.#running--;
          this.#remove(roomId, head);
          this.#pump();
        });
    }
  }
}
