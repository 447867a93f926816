// Each bot's own persisted state under <data>/state/bots/<id>.json: its sync token, the event ids it
// answered (never shared between bots: a shared record makes the wrong bot swallow a mention), and
// replies in progress, so a restart edits the same reply instead of sending a second one.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BotStateData {
  version: 1;
  syncToken?: string;
  /** When the sync token was saved (ms since epoch). */
  syncedAt?: number;
  /** Event ids this bot answered or decided not to answer, oldest first. */
  answered: string[];
  /** Mention id → the reply message already sent for it. */
  inProgress: Record<string, string>;
  /** Mention id → its room, from the moment it is queued until it is answered: a restart re-queues these. */
  pending: Record<string, string>;
}

export class StateFileError extends Error {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super(
      `The bot state file ${path} could not be written: ${cause instanceof Error ? cause.message : String(cause)}. Check that the data folder is writable and the disk is not full.`,
      { cause },
    );
    this.name = 'StateFileError';
    this.path = path;
  }
}

/** Most answered ids kept: far more than one sync's worth, small enough to rewrite on every change. */
export const MAX_ANSWERED = 5000;

export class BotStateStore {
  readonly path: string;
  #data: BotStateData;
  #answered: Set<string>;

  constructor(stateDir: string, botId: string) {
    const dir = join(stateDir, 'bots');
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `${botId}.json`);
    this.#data = BotStateStore.read(this.path);
    this.#answered = new Set(this.#data.answered);
  }

  static read(path: string): BotStateData {
    try {
      const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<BotStateData>;
      return {
        version: 1,
        syncToken: typeof raw.syncToken === 'string' ? raw.syncToken : undefined,
        syncedAt: typeof raw.syncedAt === 'number' ? raw.syncedAt : undefined,
        answered: Array.isArray(raw.answered) ? raw.answered.filter((x) => typeof x === 'string') : [],
        inProgress: raw.inProgress && typeof raw.inProgress === 'object' ? { ...raw.inProgress } : {},
        pending: raw.pending && typeof raw.pending === 'object' ? { ...raw.pending } : {},
      };
    } catch {
      // Missing or unreadable: start fresh (the history-age rule keeps old mentions unanswered).
      return { version: 1, answered: [], inProgress: {}, pending: {} };
    }
  }

  get syncToken(): string | undefined {
    return this.#data.syncToken;
  }
  get syncedAt(): number | undefined {
    return this.#data.syncedAt;
  }
  get answeredCount(): number {
    return this.#answered.size;
  }

  isAnswered(eventId: string): boolean {
    return this.#answered.has(eventId);
  }

  replyFor(eventId: string): string | undefined {
    return this.#data.inProgress[eventId];
  }

  /** Mentions queued or being answered when the app last stopped or crashed: [eventId, roomId]. */
  pendingEntries(): Array<[string, string]> {
    return Object.entries(this.#data.pending);
  }

  setPending(eventId: string, roomId: string): void {
    if (this.#data.pending[eventId] === roomId) return;
    this.#data.pending[eventId] = roomId;
    this.save();
  }

  markAnswered(eventId: string): void {
    delete this.#data.inProgress[eventId];
    delete this.#data.pending[eventId];
    if (this.#answered.has(eventId)) return this.save();
    this.#answered.add(eventId);
    this.#data.answered.push(eventId);
    while (this.#data.answered.length > MAX_ANSWERED) this.#answered.delete(this.#data.answered.shift()!);
    this.save();
  }

  setInProgress(eventId: string, replyId: string): void {
    this.#data.inProgress[eventId] = replyId;
    this.save();
  }

  setSyncToken(token: string | undefined, at: number): void {
    if (token === this.#data.syncToken) return;
    this.#data.syncToken = token;
    this.#data.syncedAt = at;
    this.save();
  }

  /** Writes to a temporary file and renames it, so a crash never leaves half a file. */
  save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.#data), { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      throw new StateFileError(this.path, err);
    }
  }
}
