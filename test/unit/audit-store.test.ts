// The audit database: calls recorded and listed (since, limit), purged, the retention applied at open, no text
// unless the settings say so, read-only readers beside a writer, and node:sqlite's warning kept off stderr.
import { spawnSync } from 'node:child_process';
import type * as NodeSqlite from 'node:sqlite';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditStore, auditFile, type AuditSettings } from '../../main/core/audit/audit-store.ts';
import type { AuditEntry } from '../../main/core/audit/audit-types.ts';
import { parseWhen, runAudit } from '../../main/cli/audit-command.ts';
import { dataPaths } from '../../main/core/paths.ts';

const DAY = 86_400_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'audit-'));
  dirs.push(d);
  return d;
}

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: Date.now(),
    roomId: '!room:x',
    eventId: '$ev',
    botId: 'helper',
    task: null,
    model: 'ollama:qwen',
    backend: 'ollama',
    endpoint: 'ollama',
    local: true,
    sensitive: [],
    promptTokens: 12,
    completionTokens: 3,
    durationMs: 40,
    cost: null,
    reason: "the bot's own model",
    outcome: 'ok',
    errorCode: null,
    prompt: 'what is 2+2?',
    reply: '4',
    ...over,
  };
}

function open(dir: string, settings: Partial<AuditSettings> = {}, now?: () => number): AuditStore {
  const s = { enabled: true, retentionDays: 90, storeText: false, ...settings };
  const store = AuditStore.open({ file: auditFile(dir), getSettings: () => s, ...(now ? { now } : {}) });
  if (!store) throw new Error('node:sqlite missing');
  return store;
}

describe('audit store', () => {
  it('records every field and keeps no text by default', () => {
    const dir = tempDir();
    const store = open(dir);
    store.record(entry({ sensitive: ['card'], local: true }));
    store.record(entry({ model: 'openai:cloud/gpt', backend: 'openai', endpoint: 'cloud', local: false }));
    const [a, b] = store.list();
    expect(a).toMatchObject({ botId: 'helper', roomId: '!room:x', eventId: '$ev', sensitive: ['card'], local: true });
    expect(a).toMatchObject({ promptTokens: 12, completionTokens: 3, durationMs: 40, cost: null, task: null });
    expect(a?.prompt).toBeUndefined();
    expect(a?.reply).toBeUndefined();
    expect(b).toMatchObject({ model: 'openai:cloud/gpt', endpoint: 'cloud', local: false, outcome: 'ok' });
    store.close();
    expect(existsSync(join(dir, 'audit.sqlite-wal')) || existsSync(join(dir, 'audit.sqlite'))).toBe(true);
  });

  it('keeps the text when audit.storeText is on, and nothing when the audit is off', () => {
    const store = open(tempDir(), { storeText: true });
    store.record(entry());
    expect(store.list()[0]).toMatchObject({ prompt: 'what is 2+2?', reply: '4' });
    store.close();
    const off = open(tempDir(), { enabled: false });
    off.record(entry());
    expect(off.list()).toEqual([]);
    off.close();
  });

  it('lists since a time and the newest n; purges before a date', () => {
    const store = open(tempDir());
    const now = Date.now();
    for (let i = 5; i >= 1; i--) store.record(entry({ at: now - i * DAY, botId: `b${i}` }));
    expect(store.list({ since: now - 2.5 * DAY }).map((e) => e.botId)).toEqual(['b2', 'b1']);
    expect(store.list({ limit: 2 }).map((e) => e.botId)).toEqual(['b2', 'b1']);
    expect(store.purge({ before: now - 3.5 * DAY })).toBe(2);
    expect(store.list().map((e) => e.botId)).toEqual(['b3', 'b2', 'b1']);
    expect(store.purge()).toBe(3);
    store.close();
  });

  it('removes calls older than the retention when it opens; 0 keeps them all', () => {
    const dir = tempDir();
    const now = Date.now();
    const first = open(dir, { retentionDays: 0 });
    first.record(entry({ at: now - 100 * DAY, botId: 'old' }));
    first.record(entry({ at: now - DAY, botId: 'new' }));
    first.close();
    const keepAll = open(dir, { retentionDays: 0 });
    expect(keepAll.list()).toHaveLength(2);
    keepAll.close();
    const again = open(dir, { retentionDays: 30 });
    expect(again.list().map((e) => e.botId)).toEqual(['new']);
    again.close();
  });

  it('a read-only reader sees what a writer keeps, while it is open', () => {
    const dir = tempDir();
    const writer = open(dir);
    writer.record(entry());
    const reader = AuditStore.open({ file: auditFile(dir), readOnly: true });
    expect(reader?.list()).toHaveLength(1);
    writer.record(entry());
    expect(reader?.list()).toHaveLength(2);
    reader?.close();
    writer.close();
  });

  it("keeps node:sqlite's ExperimentalWarning off stderr and lets other warnings through", () => {
    const store = join(import.meta.dirname, '..', '..', 'main', 'core', 'audit', 'audit-store.ts');
    const script = `const { loadSqlite } = await import(${JSON.stringify(store)});
      if (!loadSqlite()) process.exit(3);
      process.emitWarning('another warning', 'ExperimentalWarning');`;
    const r = spawnSync(process.execPath, ['--experimental-strip-types', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/SQLite/i);
    expect(r.stderr).toMatch(/another warning/);
  });
});

describe('agent-room audit', () => {
  it('parses 24h, 7d and dates; refuses anything else with exit code 2', async () => {
    const now = Date.parse('2026-02-01T00:00:00Z');
    expect(parseWhen('24h', now)).toBe(now - DAY);
    expect(parseWhen('7d', now)).toBe(now - 7 * DAY);
    expect(parseWhen('2026-01-31', now)).toBe(Date.parse('2026-01-31'));
    expect(parseWhen('soon', now)).toBeUndefined();
    const errs: string[] = [];
    expect(
      await runAudit(
        dataPaths(tempDir()),
        { since: 'soon' },
        () => undefined,
        (s) => errs.push(s),
      ),
    ).toBe(2);
    expect(errs[0]).toMatch(/--since takes a duration/);
  });

  it('prints [] with no database, a table, JSON, and purges', async () => {
    const root = tempDir();
    const paths = dataPaths(root);
    const out: string[] = [];
    expect(await runAudit(paths, { json: true }, (s) => out.push(s))).toBe(0);
    expect(out.pop()).toBe('[]');
    const store = open(paths.state);
    store.record(entry({ at: Date.now() - 10 * DAY, botId: 'old' }));
    store.record(entry({ sensitive: ['card'] }));
    expect(await runAudit(paths, { json: true, since: '7d' }, (s) => out.push(s))).toBe(0);
    expect((JSON.parse(out.pop()!) as AuditEntry[]).map((e) => e.botId)).toEqual(['helper']);
    expect(await runAudit(paths, {}, (s) => out.push(s))).toBe(0);
    expect(out.join('\n')).toMatch(/helper .*ollama:qwen .*local .*ok .*12\/3/);
    expect(out.join('\n')).toMatch(/sensitive: card/);
    expect(await runAudit(paths, { purge: true, before: '7d' }, (s) => out.push(s))).toBe(0);
    expect(out.pop()).toMatch(/^Removed 1 call/);
    expect(store.list()).toHaveLength(1);
    store.close();
  });
});

describe('the audit schema migration', () => {
  it('a version 1 database gains the tool columns (version 2) and keeps its rows', async () => {
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as typeof NodeSqlite;
    const file = auditFile(tempDir());
    const v1 = new DatabaseSync(file);
    v1.exec(`CREATE TABLE calls (
      id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, room_id TEXT, event_id TEXT, bot_id TEXT NOT NULL,
      task TEXT, model TEXT NOT NULL, backend TEXT NOT NULL, endpoint TEXT, local INTEGER NOT NULL,
      sensitive TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER, duration_ms INTEGER NOT NULL,
      cost REAL, reason TEXT NOT NULL, outcome TEXT NOT NULL, error_code TEXT, prompt TEXT, reply TEXT);
      CREATE INDEX calls_at ON calls(at);
      INSERT INTO calls (at, bot_id, model, backend, local, sensitive, duration_ms, reason, outcome)
        VALUES (${Date.now()}, 'old', 'ollama:qwen', 'ollama', 1, '[]', 5, 'before tools', 'ok');
      PRAGMA user_version = 1;`);
    v1.close();
    const store = AuditStore.open({ file })!;
    store.record(
      entry({
        model: 'files/write_file',
        backend: 'mcp',
        argsBytes: 40,
        resultBytes: 120,
        approvedBy: 'approved by @owner:x',
      }),
    );
    const rows = store.list();
    expect(rows.map((r) => [r.botId, r.backend])).toEqual([
      ['old', 'ollama'],
      ['helper', 'mcp'],
    ]);
    expect(rows[0]!.argsBytes).toBeUndefined();
    expect(rows[1]).toMatchObject({ argsBytes: 40, resultBytes: 120, approvedBy: 'approved by @owner:x' });
    store.close();
    const check = new DatabaseSync(file);
    expect((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(2);
    check.close();
  });
});
