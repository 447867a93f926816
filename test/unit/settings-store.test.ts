// Settings recovery (wrong keys, corrupt JSON, migrations) and the conf-backed store used by serve.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import {
  ConfSettingsStore,
  SettingsFileError,
  SettingsValidationError,
  formatSettingsIssue,
  loadSettings,
  recoverSettings,
} from '../../main/core/settings/settings-store.ts';
import type { SettingsMigration } from '../../main/core/settings/settings-store.ts';

const fixtures = join(import.meta.dirname, '../fixtures/settings');
const fixedNow = () => new Date('2026-11-20T10:11:12.345Z');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-room-settings-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function placeFixture(name: string): string {
  const file = join(dir, 'settings.json');
  copyFileSync(join(fixtures, name), file);
  return file;
}

describe('recoverSettings (pure)', () => {
  it('returns the defaults and no issues for an empty object', () => {
    expect(recoverSettings({})).toEqual({ settings: defaultSettings(), issues: [] });
  });

  it.each([
    ['null', null],
    ['a list', [1, 2]],
    ['a string', 'settings'],
  ])('falls back to all defaults when the file holds %s', (_label, raw) => {
    const r = recoverSettings(raw);
    expect(r.settings).toEqual(defaultSettings());
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]?.path).toBe('');
  });

  it('keeps valid keys, defaults a wrong field inside a bot, drops a bot with a wrong required field, reports unknown keys', () => {
    const raw = JSON.parse(readFileSync(join(fixtures, 'mixed-problems.json'), 'utf8')) as unknown;
    const { settings, issues } = recoverSettings(raw);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));

    // homeserver.url is required for external mode: the whole homeserver falls back to bundled.
    expect(byPath['homeserver.url']?.message).toBe('Invalid URL');
    expect(byPath['homeserver.url']?.resolution).toMatch(/^homeserver set to its default/);
    expect(settings.homeserver.mode).toBe('bundled');

    expect(settings.bots.map((b) => b.id)).toEqual(['good']);
    expect(settings.bots[0]?.pinned).toBe(true);
    expect(byPath['bots.1.id']?.resolution).toMatch(/^bots\.1 "Bad Id!" dropped; its value is kept in the backup/);
    expect(byPath['bots.2.model']?.message).toBe('Invalid input: expected string, received undefined');
    expect(byPath['bots.2.model']?.resolution).toMatch(/^bots\.2 "nomodel" dropped/);

    // Only the wrong key inside rateLimit falls back; its sibling stays.
    expect(byPath['guard.rateLimit.maxRequests']?.message).toBe('Too small: expected number to be >=1');
    expect(settings.guard.rateLimit).toEqual({ maxRequests: 10, windowSeconds: 120 });

    expect(settings.endpoints.ollama).toEqual([{ id: 'home', url: 'http://10.0.0.5:11434' }]);
    expect(byPath['endpoints.openai']?.message).toBe('expected a list, found string "none"');
    expect(settings.endpoints.openai).toEqual([]);

    expect(byPath.futureFeature).toMatchObject({
      message: 'unknown key',
      resolution: expect.stringMatching(/^ignored/),
    });
    expect(settings).not.toHaveProperty('futureFeature');

    expect(byPath['ui.window.width']?.message).toBe('Too small: expected number to be >=320');
    expect(settings.ui.window).toEqual({ width: 1100, height: 900, x: 5 });
  });

  it('formats an issue as one log line', () => {
    expect(
      formatSettingsIssue({
        path: 'bots.0.temperature',
        message: 'Too big: expected number to be <=2',
        resolution: 'bots.0.temperature set to its default (0.7)',
      }),
    ).toBe('bots.0.temperature: Too big: expected number to be <=2 → bots.0.temperature set to its default (0.7)');
  });
});

describe('migrations', () => {
  // A test-only version-0 layout: bots under "models" with snake_case fields.
  const toV1: SettingsMigration = {
    to: 1,
    migrate: (raw) => {
      const { models, ...rest } = raw as { models?: Array<{ name: string; model: string; max_tokens?: number }> };
      return {
        ...rest,
        bots: (models ?? []).map((m) => ({ id: m.name, displayName: m.name, model: m.model, maxTokens: m.max_tokens })),
      };
    },
  };
  const toV2: SettingsMigration = { to: 2, migrate: (raw) => ({ ...raw, room: { name: 'Renamed in v2' } }) };

  it('applies migrations in order from the file version and stamps the current version', () => {
    const r = recoverSettings(
      { version: 0, models: [{ name: 'mistral', model: 'ollama:mistral', max_tokens: 512 }] },
      { migrations: [toV2, toV1], currentVersion: 2 },
    );
    expect(r.issues).toEqual([]);
    expect(r.migratedFrom).toBe(0);
    expect(r.settings.version).toBe(2);
    expect(r.settings.bots[0]).toMatchObject({ id: 'mistral', model: 'ollama:mistral', maxTokens: 512 });
    expect(r.settings.room.name).toBe('Renamed in v2');
  });

  it('skips migrations already applied, and takes a file without a version as the current layout', () => {
    expect(
      recoverSettings({ version: 1, room: { name: 'R' } }, { migrations: [toV1, toV2], currentVersion: 2 }).settings
        .room.name,
    ).toBe('Renamed in v2');
    const noVersion = recoverSettings(
      { room: { name: 'Hand-written' } },
      { migrations: [toV1, toV2], currentVersion: 2 },
    );
    expect(noVersion.migratedFrom).toBeUndefined();
    expect(noVersion.settings.room.name).toBe('Hand-written');
  });

  it('reports a missing step, a failing step and a newer file instead of throwing', () => {
    expect(recoverSettings({ version: 0 }, { migrations: [toV2], currentVersion: 2 }).issues[0]?.message).toBe(
      'no migration from layout 0 to 1',
    );
    const failing: SettingsMigration = {
      to: 1,
      migrate: () => {
        throw new Error('boom');
      },
    };
    expect(recoverSettings({ version: 0 }, { migrations: [failing], currentVersion: 1 }).issues[0]?.message).toBe(
      'migration to layout 1 failed: boom',
    );
    const newer = recoverSettings({ version: 7, shinyNewThing: 1 });
    expect(newer.issues.map((i) => i.path)).toEqual(['version', 'shinyNewThing']);
    expect(newer.settings.version).toBe(1);
  });

  it('keeps a copy of the pre-migration file and rewrites it in the current layout', () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify({ version: 0, models: [{ name: 'qwen', model: 'ollama:qwen' }] }));
    const { logger } = createMemoryLogger();
    const loaded = loadSettings({ file, logger, now: fixedNow, migrations: [toV1], currentVersion: 1 });
    expect(loaded.backupPath).toBe(`${file}.v0-2026-11-20T10-11-12-345Z`);
    expect(JSON.parse(readFileSync(loaded.backupPath ?? '', 'utf8'))).toHaveProperty('models');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1, bots: [{ id: 'qwen' }] });
  });
});

describe('loadSettings', () => {
  it('a file with two wrong keys: both reported with the reason and logged, the bad file kept, the other keys kept', () => {
    const file = placeFixture('two-wrong-keys.json');
    const original = readFileSync(file, 'utf8');
    const { logger, records } = createMemoryLogger();
    const loaded = loadSettings({ file, logger, now: fixedNow });

    expect(loaded.issues.map((i) => [i.path, i.message])).toEqual([
      ['bots.0.temperature', 'Too big: expected number to be <=2'],
      ['ui.theme', 'Invalid option: expected one of "system"|"light"|"dark"'],
    ]);
    expect(loaded.backupPath).toBe(join(dir, 'settings.json.bad-2026-11-20T10-11-12-345Z'));
    expect(readFileSync(loaded.backupPath ?? '', 'utf8')).toBe(original);

    const s = loaded.settings;
    expect(s.bots[0]).toMatchObject({ id: 'mistral', temperature: 0.7, maxTokens: 1024 });
    expect(s.bots[1]?.id).toBe('qwen');
    expect(s.ui).toMatchObject({ theme: 'system', closeToTray: false });
    expect(s.owner).toEqual({ localpart: 'ada', displayName: 'Ada' });
    expect(s.guard).toMatchObject({ maxHops: 2, contextMessages: 20 });

    const warned = records.filter((r) => r.level === 40).map((r) => r.msg as string);
    expect(warned.some((m) => m.includes('bots.0.temperature: Too big: expected number to be <=2'))).toBe(true);
    expect(warned.some((m) => m.includes('ui.theme: Invalid option'))).toBe(true);
    // Rewritten: the next start finds a valid file and reports nothing.
    expect(loadSettings({ file, logger, now: fixedNow }).issues).toEqual([]);
  });

  it('corrupt JSON: defaults, one issue naming the parse error, the file kept byte for byte', () => {
    const file = placeFixture('corrupt.json');
    const original = readFileSync(file, 'utf8');
    const { logger } = createMemoryLogger();
    const loaded = loadSettings({ file, logger, now: fixedNow });
    expect(loaded.settings).toEqual(defaultSettings());
    expect(loaded.issues).toHaveLength(1);
    expect(loaded.issues[0]?.message).toMatch(/^not valid JSON \(/);
    expect(readFileSync(loaded.backupPath ?? '', 'utf8')).toBe(original);
  });

  it('a missing file is a first start: defaults, no issues, no backup', () => {
    const { logger } = createMemoryLogger();
    expect(loadSettings({ file: join(dir, 'settings.json'), logger })).toEqual({
      settings: defaultSettings(),
      issues: [],
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never overwrites an earlier backup taken in the same millisecond', () => {
    const { logger } = createMemoryLogger();
    const file = join(dir, 'settings.json');
    writeFileSync(file, '{');
    const first = loadSettings({ file, logger, now: fixedNow, rewrite: false }).backupPath;
    const second = loadSettings({ file, logger, now: fixedNow, rewrite: false }).backupPath;
    expect(second).toBe(`${first}-1`);
  });
});

describe('ConfSettingsStore', () => {
  it('round-trips through <data>/settings.json and tells listeners', () => {
    const { logger } = createMemoryLogger();
    const store = new ConfSettingsStore({ dataDir: dir, logger });
    expect(store.path).toBe(join(dir, 'settings.json'));
    expect(store.issues).toEqual([]);
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual(defaultSettings());

    const seen: string[] = [];
    const off = store.onChange((s) => seen.push(s.room.name));
    const after = store.update((s) => ({
      ...s,
      room: { ...s.room, name: 'Lab' },
      bots: [{ ...defaultBot(), id: 'phi' }],
    }));
    expect(after.room.name).toBe('Lab');
    off();
    store.update((s) => ({ ...s, room: { ...s.room, name: 'Unheard' } }));
    expect(seen).toEqual(['Lab']);

    const reopened = new ConfSettingsStore({ dataDir: dir, logger });
    expect(reopened.get()).toEqual(store.get());
    expect(reopened.get().bots[0]?.id).toBe('phi');
    expect(reopened.issues).toEqual([]);
  });

  it('refuses an invalid set() with the wrong keys, and writes nothing', () => {
    const { logger } = createMemoryLogger();
    const store = new ConfSettingsStore({ dataDir: dir, logger });
    const before = readFileSync(store.path, 'utf8');
    const bad = { ...store.get(), guard: { ...store.get().guard, maxHops: 99 } };
    expect(() => store.set(bad)).toThrow(SettingsValidationError);
    try {
      store.set(bad);
    } catch (error) {
      expect((error as SettingsValidationError).issues).toEqual([
        { path: 'guard.maxHops', message: 'Too big: expected number to be <=20' },
      ]);
    }
    expect(readFileSync(store.path, 'utf8')).toBe(before);
  });

  it('get() returns a copy', () => {
    const { logger } = createMemoryLogger();
    const store = new ConfSettingsStore({ dataDir: dir, logger });
    store.get().room.name = 'mutated';
    expect(store.get().room.name).toBe('AI Team');
  });

  it('opens on a corrupt file (conf alone would throw), keeps the copy and exposes the issues', () => {
    placeFixture('corrupt.json');
    const { logger } = createMemoryLogger();
    const store = new ConfSettingsStore({ dataDir: dir, logger, now: fixedNow });
    expect(store.issues).toHaveLength(1);
    expect(store.backupPath).toMatch(/settings\.json\.bad-2026-11-20T10-11-12-345Z$/);
    expect(store.get()).toEqual(defaultSettings());
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual(defaultSettings());
  });
});

function defaultBot() {
  return {
    id: 'x',
    displayName: 'X',
    model: 'ollama:phi3',
    systemPrompt: 'p',
    temperature: 0.7,
    maxTokens: 256,
    localOnly: false,
    keepAliveSeconds: 300,
    pinned: false,
    fallback: [],
  };
}

describe('loadSettings on an unreadable path', () => {
  it('throws a SettingsFileError that says what to check, and touches nothing', () => {
    const { logger } = createMemoryLogger();
    mkdirSync(join(dir, 'settings.json'));
    expect(() => loadSettings({ file: join(dir, 'settings.json'), logger })).toThrow(SettingsFileError);
    expect(() => loadSettings({ file: join(dir, 'settings.json'), logger })).toThrow(/Check that this user owns it/);
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });
});
