// An ordered queue of reply jobs in lanes: one job at a time per lane, lanes in parallel up to a bound.
// A lane is a room and a bot by default (each bot answers its mentions in the order asked, bots addressed
// together answer together), or a whole room (each bot then sees the previous bots' answers).
// Jobs can be cancelled while waiting or running (redaction, !stop) and all are aborted on stop.

export interface Job {
  /** Unique per (event, bot). */
  key: string;
  roomId: string;
  /** The event the job answers. */
  eventId: string;
  botId: string;
  /** Jobs of one lane run one after another, in order; default: the room. */
  lane?: string;
  run(signal: AbortSignal): Promise<void>;
  /** Called instead of run when the job is cancelled before it started (redaction, !stop). */
  dropped?(reason: CancelledError['reason']): void;
}

export class CancelledError extends Error {
  readonly reason: 'redacted' | 'stopped' | 'shutdown';
  constructor(reason: 'redacted' | 'stopped' | 'shutdown') {
    super(
      reason === 'redacted'
        ? 'The message was deleted.'
        : reason === 'stopped'
          ? 'Stopped with !stop.'
          : 'The bots are shutting down.',
    );
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

export interface QueueOptions {
  maxConcurrent?: number;
  onError?: (job: Job, err: unknown) => void;
  /** After a job is queued, has ended or was dropped: what counts() answers has changed. */
  onChange?: () => void;
}

export class RoomQueues {
  readonly #rooms = new Map<string, Entry[]>();
  readonly #keys = new Set<string>();
  #running = 0;
  #stopped = false;

  private readonly options: QueueOptions;

  constructor(options: QueueOptions = {}) {
    this.options = options;
  }

  /** Queues a job; false when the same job is already queued or running, or after stop. */
  enqueue(job: Job): boolean {
    if (this.#stopped || this.#keys.has(job.key)) return false;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const entry: Entry = { job, controller: new AbortController(), running: false, done, resolve };
    this.#keys.add(job.key);
    const lane = job.lane ?? job.roomId;
    const list = this.#rooms.get(lane) ?? [];
    list.push(entry);
    this.#rooms.set(lane, list);
    this.#pump();
    this.options.onChange?.();
    return true;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Cancels matching jobs: waiting ones are dropped, running ones aborted. Returns how many. */
  cancel(match: (job: Job) => boolean, reason: CancelledError['reason']): number {
    let n = 0;
    for (const [lane, list] of this.#rooms) {
      for (const entry of [...list]) {
        if (!match(entry.job)) continue;
        n++;
        if (entry.running) entry.controller.abort(new CancelledError(reason));
        else {
          this.#remove(lane, entry);
          entry.job.dropped?.(reason);
        }
      }
    }
    this.#pump();
    if (n > 0) this.options.onChange?.();
    return n;
  }

  /** Jobs waiting and running, of one bot and/or one room when given. */
  counts(botId?: string, roomId?: string): { queued: number; running: number } {
    let queued = 0;
    let running = 0;
    for (const list of this.#rooms.values())
      for (const e of list) {
        if ((botId !== undefined && e.job.botId !== botId) || (roomId !== undefined && e.job.roomId !== roomId))
          continue;
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

  #remove(lane: string, entry: Entry): void {
    const list = this.#rooms.get(lane) ?? [];
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#rooms.delete(lane);
    this.#keys.delete(entry.job.key);
    entry.resolve();
  }

  #pump(): void {
    const max = this.options.maxConcurrent ?? Infinity;
    for (const [lane, list] of this.#rooms) {
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
          this.#remove(lane, head);
          // Round robin: a lane that just ran goes behind the others, so no bot or room waits on a long lane.
          const rest = this.#rooms.get(lane);
          if (rest) {
            this.#rooms.delete(lane);
            this.#rooms.set(lane, rest);
          }
          this.#pump();
          this.options.onChange?.();
        });
    }
  }
}
