// `agent-room audit [--since 24h|7d|DATE] [--json] [--limit N]` and `agent-room audit --purge [--before DATE]`:
// every model call from the audit database (<data>/state/audit.sqlite), read directly, also while serve runs.
import { existsSync } from 'node:fs';
import { AuditStore, auditFile } from '../core/audit/audit-store.ts';
import type { AuditEntry } from '../core/audit/audit-types.ts';
import type { DataPaths } from '../core/paths.ts';

export interface AuditFlags {
  since?: string;
  json?: boolean;
  limit?: number;
  purge?: boolean;
  before?: string;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "24h", "7d", "30m", "2w" (before now), or a date/time JSON or ISO 8601 takes; undefined when neither. */
export function parseWhen(value: string, now = Date.now()): number | undefined {
  const rel = /^(\d+)\s*([mhdw])$/i.exec(value.trim());
  if (rel) return now - Number(rel[1]) * (UNITS[rel[2]!.toLowerCase()] ?? 0);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

function badWhen(flag: string, value: string, err: (s: string) => void): number {
  err(`${flag} takes a duration (24h, 7d, 30m, 2w) or a date (2026-01-31, 2026-01-31T12:00:00Z), not "${value}".`);
  return 2;
}

function tokens(e: AuditEntry): string {
  return e.promptTokens === null ? '-' : `${e.promptTokens}/${e.completionTokens ?? 0}`;
}

function table(entries: AuditEntry[], out: (s: string) => void): void {
  if (entries.length === 0) {
    out('No model calls recorded in that period.');
    return;
  }
  out(
    ['time'.padEnd(19), 'bot'.padEnd(12), 'model'.padEnd(32), 'where', 'outcome'.padEnd(16), 'tokens', 'ms'].join(' '),
  );
  for (const e of entries) {
    const when = new Date(e.at).toISOString().slice(0, 19).replace('T', ' ');
    const outcome = e.errorCode && e.outcome !== 'ok' ? `${e.outcome} ${e.errorCode}` : e.outcome;
    const sens = e.sensitive.length ? ` [sensitive: ${e.sensitive.join(', ')}]` : '';
    out(
      `${when} ${e.botId.padEnd(12)} ${e.model.padEnd(32)} ${(e.local ? 'local' : 'cloud').padEnd(5)} ${outcome.padEnd(16)} ${tokens(e).padStart(6)} ${e.durationMs}`,
    );
    const task = e.task ? ` [task: ${e.task}]` : '';
    const cost = e.cost !== null ? ` [cost: ${e.cost.toFixed(6)}]` : '';
    out(`  why: ${e.reason}${task}${sens}${cost}${e.roomId ? ` — ${e.roomId} ${e.eventId ?? ''}` : ''}`);
  }
}

export async function runAudit(
  paths: DataPaths,
  flags: AuditFlags,
  out: (s: string) => void = console.log,
  err: (s: string) => void = console.error,
): Promise<number> {
  const file = auditFile(paths.state);
  if (flags.purge) return purge(file, flags, out, err);
  const since = flags.since === undefined ? undefined : parseWhen(flags.since);
  if (flags.since !== undefined && since === undefined) return badWhen('--since', flags.since, err);
  if (!existsSync(file)) {
    out(flags.json ? '[]' : 'No model calls recorded yet (the audit database is made by the first call).');
    return 0;
  }
  const store = AuditStore.open({ file, readOnly: true });
  if (!store) {
    err(`The audit needs node:sqlite (Node 22.13 or newer); this is ${process.version}.`);
    return 1;
  }
  try {
    const entries = store.list({
      ...(since !== undefined ? { since } : {}),
      ...(flags.limit ? { limit: flags.limit } : {}),
    });
    if (flags.json) out(JSON.stringify(entries, null, 2));
    else table(entries, out);
    return 0;
  } finally {
    store.close();
  }
}

function purge(file: string, flags: AuditFlags, out: (s: string) => void, err: (s: string) => void): number {
  const before = flags.before === undefined ? undefined : parseWhen(flags.before);
  if (flags.before !== undefined && before === undefined) return badWhen('--before', flags.before, err);
  if (!existsSync(file)) {
    out(flags.json ? JSON.stringify({ removed: 0 }) : 'Removed 0 calls (no audit database yet).');
    return 0;
  }
  // Not the settings' retention: a purge removes exactly what it is asked to.
  const store = AuditStore.open({ file, getSettings: () => ({ enabled: true, retentionDays: 0, storeText: false }) });
  if (!store) {
    err(`The audit needs node:sqlite (Node 22.13 or newer); this is ${process.version}.`);
    return 1;
  }
  try {
    const removed = store.purge(before === undefined ? {} : { before });
    const what = before === undefined ? 'every call' : `calls before ${new Date(before).toISOString()}`;
    out(flags.json ? JSON.stringify({ removed }) : `Removed ${removed} call(s) (${what}).`);
    return 0;
  } finally {
    store.close();
  }
}
