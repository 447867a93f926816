// The audit trail's database: <data>/state/audit.sqlite, node:sqlite (built into Node 22 and Electron's Node),
// WAL so `agent-room audit` reads it while serve writes. The schema carries a user_version for migrations; rows
// older than the retention are removed when the store opens. Without node:sqlite the app runs, the audit off.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as NodeSqlite from 'node:sqlite';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { Logger } from '../logging/logger.ts';
import type { AuditEntry, AuditOutcome, AuditSink } from './audit-types.ts';

type Sqlite = typeof NodeSqlite;

/** 1: calls; 2: tool calls' argument and result sizes and approval. */
const SCHEMA_VERSION = 2;
const DAY_MS = 86_400_000;

export function auditFile(stateDir: string): string {
  return join(stateDir, 'audit.sqlite');
}

/**
 * node:sqlite, or undefined where this Node lacks it (22.12 without --experimental-sqlite). Its one
 * ExperimentalWarning is dropped (the CLI would print it on every call); every other warning goes through.
 */
export function loadSqlite(): Sqlite | undefined {
  const original = process.emitWarning;
  const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const text = typeof warning === 'string' ? warning : warning.message;
    const opt = rest[0];
    const type =
      typeof opt === 'string' ? opt : ((opt as { type?: string } | undefined)?.type ?? (warning as Error).name);
    if (type === 'ExperimentalWarning' && /sqlite/i.test(text)) return;
    (original as (...a: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return process.getBuiltinModule('node:sqlite') as Sqlite | undefined;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = original;
  }
}

export interface AuditSettings {
  enabled: boolean;
  retentionDays: number;
  storeText: boolean;
}

export interface AuditStoreOptions {
  file: string;
  /** Read on every record: audit on or off, text kept or not. Default: on, 90 days, no text. */
  getSettings?: () => AuditSettings;
  /** For `agent-room audit`: no schema change, no retention purge, no writes. */
  readOnly?: boolean;
  logger?: Logger;
  now?: () => number;
}

const DEFAULTS: AuditSettings = { enabled: true, retentionDays: 90, storeText: false };

interface Row {
  [key: string]: unknown;
}

function migrate(db: DatabaseSync): void {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  if (version >= SCHEMA_VERSION) return;
  db.exec('BEGIN');
  try {
    if (version < 1)
      db.exec(`CREATE TABLE IF NOT EXISTS calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, room_id TEXT, event_id TEXT, bot_id TEXT NOT NULL,
        task TEXT, model TEXT NOT NULL, backend TEXT NOT NULL, endpoint TEXT, local INTEGER NOT NULL,
        sensitive TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, duration_ms INTEGER NOT NULL,
        cost REAL, reason TEXT NOT NULL, outcome TEXT NOT NULL, error_code TEXT, prompt TEXT, reply TEXT);
        CREATE INDEX IF NOT EXISTS calls_at ON calls(at);`);
    if (version < 2)
      db.exec(`ALTER TABLE calls ADD COLUMN args_bytes INTEGER; ALTER TABLE calls ADD COLUMN result_bytes INTEGER;
        ALTER TABLE calls ADD COLUMN approved_by TEXT;`);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT`);
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

function fromRow(r: Row): AuditEntry & { id: number } {
  const entry: AuditEntry & { id: number } = {
    id: Number(r.id),
    at: Number(r.at),
    roomId: (r.room_id as string | null) ?? null,
    eventId: (r.event_id as string | null) ?? null,
    botId: String(r.bot_id),
    task: (r.task as string | null) ?? null,
    model: String(r.model),
    backend: String(r.backend),
    endpoint: (r.endpoint as string | null) ?? null,
    local: Number(r.local) === 1,
    sensitive: JSON.parse(String(r.sensitive)) as string[],
    promptTokens: r.prompt_tokens === null ? null : Number(r.prompt_tokens),
    completionTokens: r.completion_tokens === null ? null : Number(r.completion_tokens),
    durationMs: Number(r.duration_ms),
    cost: r.cost === null ? null : Number(r.cost),
    reason: String(r.reason),
    outcome: String(r.outcome) as AuditOutcome,
    errorCode: (r.error_code as string | null) ?? null,
  };
  // A database written before version 2 (read-only, not migrated) has no such columns: undefined, left out.
  if (r.args_bytes !== null && r.args_bytes !== undefined) entry.argsBytes = Number(r.args_bytes);
  if (r.result_bytes !== null && r.result_bytes !== undefined) entry.resultBytes = Number(r.result_bytes);
  if (typeof r.approved_by === 'string') entry.approvedBy = r.approved_by;
  if (r.prompt !== null) entry.prompt = String(r.prompt);
  if (r.reply !== null) entry.reply = String(r.reply);
  return entry;
}

export class AuditStore implements AuditSink {
  readonly #db: DatabaseSync;
  readonly #options: AuditStoreOptions;
  readonly #now: () => number;
  #failed = false;
  #closed = false;

  private constructor(db: DatabaseSync, options: AuditStoreOptions) {
    this.#db = db;
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
  }

  /**
   * Opens (and creates, unless read-only) the database. Undefined, said once in the log, where node:sqlite is
   * missing; a database that cannot be opened throws.
   */
  static open(options: AuditStoreOptions): AuditStore | undefined {
    const sqlite = loadSqlite();
    if (!sqlite) {
      options.logger?.warn(
        { node: process.version },
        'audit trail off: this Node has no node:sqlite (Node 22.13 or newer has it)',
      );
      return undefined;
    }
    if (!options.readOnly) mkdirSync(dirname(options.file), { recursive: true });
    const db = new sqlite.DatabaseSync(options.file, { readOnly: options.readOnly ?? false });
    const store = new AuditStore(db, options);
    if (!options.readOnly) {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 2000;');
      migrate(db);
      const days = store.#settings().retentionDays;
      if (days > 0) store.purge({ before: store.#now() - days * DAY_MS });
    } else db.exec('PRAGMA busy_timeout = 2000;');
    return store;
  }

  #settings(): AuditSettings {
    return this.#options.getSettings?.() ?? DEFAULTS;
  }

  /** Keeps one call; never throws (a failing audit is logged once and does not stop a reply). */
  record(entry: AuditEntry): void {
    const settings = this.#settings();
    if (!settings.enabled || this.#closed) return;
    const text = settings.storeText;
    const values: SQLInputValue[] = [
      entry.at,
      entry.roomId,
      entry.eventId,
      entry.botId,
      entry.task,
      entry.model,
      entry.backend,
      entry.endpoint,
      entry.local ? 1 : 0,
      JSON.stringify(entry.sensitive),
      entry.promptTokens,
      entry.completionTokens,
      Math.round(entry.durationMs),
      entry.cost,
      entry.reason,
      entry.outcome,
      entry.errorCode,
      text ? (entry.prompt ?? null) : null,
      text ? (entry.reply ?? null) : null,
      entry.argsBytes ?? null,
      entry.resultBytes ?? null,
      entry.approvedBy ?? null,
    ];
    try {
      this.#db
        .prepare(
          `INSERT INTO calls (at, room_id, event_id, bot_id, task, model, backend, endpoint, local, sensitive,
          prompt_tokens, completion_tokens, duration_ms, cost, reason, outcome, error_code, prompt, reply,
          args_bytes, result_bytes, approved_by)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...values);
    } catch (err) {
      if (!this.#failed)
        this.#options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit record failed');
      this.#failed = true;
    }
  }

  /** Calls at or after `since` (ms), of one bot when `botId` is given, oldest first; the newest `limit` when given. */
  list(options: { since?: number; limit?: number; botId?: string } = {}): Array<AuditEntry & { id: number }> {
    if (!this.#hasTable()) return [];
    const params: SQLInputValue[] = [options.since ?? 0];
    let where = 'at >= ?';
    if (options.botId !== undefined) {
      where += ' AND bot_id = ?';
      params.push(options.botId);
    }
    const rows = options.limit
      ? this.#db
          .prepare(`SELECT * FROM (SELECT * FROM calls WHERE ${where} ORDER BY id DESC LIMIT ?) ORDER BY id`)
          .all(...params, options.limit)
      : this.#db.prepare(`SELECT * FROM calls WHERE ${where} ORDER BY id`).all(...params);
    return (rows as Row[]).map(fromRow);
  }

  /** What the endpoint's calls cost at or after `since` (ms): the budget's spend before this start. */
  spentSince(endpoint: string, since: number): number {
    if (!this.#hasTable()) return 0;
    const row = this.#db
      .prepare('SELECT COALESCE(SUM(cost), 0) AS total FROM calls WHERE endpoint = ? AND at >= ?')
      .get(endpoint, since) as { total: number } | undefined;
    return Number(row?.total ?? 0);
  }

  /** Removes calls older than `before` (ms; everything when absent); how many went. */
  purge(options: { before?: number } = {}): number {
    if (!this.#hasTable()) return 0;
    const r = this.#db.prepare('DELETE FROM calls WHERE at < ?').run(options.before ?? Number.MAX_SAFE_INTEGER);
    return Number(r.changes);
  }

  #hasTable(): boolean {
    return this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'").get() !== undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
