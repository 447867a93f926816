// Turns whatever a settings file held into valid Settings, key by key, and says what it changed.
// Pure (no fs): the conf store here and the electron-store adapter in main/electron share it, so a
// bad file is recovered the same way on the desktop and in serve.
import { z } from 'zod';
import { SETTINGS_VERSION, defaultSettings, settingsSchema } from '../../common/settings-schema.ts';
import type { Settings } from '../../common/settings-schema.ts';

/** One thing that was wrong in the file: the dotted key (`bots.0.temperature`), why, and what was done. */
export interface SettingsIssue {
  path: string;
  message: string;
  /** What recovery did about it, for the log line: "using the default (0.7)", "bot dropped" … */
  resolution?: string;
}

/** Rewrites the raw file of version `to - 1` into the layout of version `to`. Gets and returns plain JSON. */
export interface SettingsMigration {
  to: number;
  migrate(raw: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Layout changes since the first released layout (version 1). Empty: nothing has changed yet. Add
 * `{ to: 2, migrate }` here together with SETTINGS_VERSION = 2 when the layout changes.
 */
export const SETTINGS_MIGRATIONS: readonly SettingsMigration[] = [];

export interface RecoverOptions {
  migrations?: readonly SettingsMigration[];
  /** The layout this build writes; tests pass their own with their own migrations. */
  currentVersion?: number;
}

export interface RecoveredSettings {
  settings: Settings;
  issues: SettingsIssue[];
  /** The file's version when migrations ran (from < currentVersion), else undefined. */
  migratedFrom?: number;
}

type Repaired = { ok: true; value: unknown; issues: SettingsIssue[] } | { ok: false; issues: SettingsIssue[] };

const BACKUP_NOTE = 'its value is kept in the backup copy of the file';

export function formatSettingsIssue(issue: SettingsIssue): string {
  const where = issue.path === '' ? '(whole file)' : issue.path;
  return issue.resolution ? `${where}: ${issue.message} → ${issue.resolution}` : `${where}: ${issue.message}`;
}

export function recoverSettings(raw: unknown, options: RecoverOptions = {}): RecoveredSettings {
  const currentVersion = options.currentVersion ?? SETTINGS_VERSION;
  const migrations = options.migrations ?? SETTINGS_MIGRATIONS;
  if (!isPlainObject(raw)) {
    return {
      settings: defaultSettings(),
      issues: [
        {
          path: '',
          message: `expected a JSON object, found ${describe(raw)}`,
          resolution: `using all defaults; ${BACKUP_NOTE}`,
        },
      ],
    };
  }
  const issues: SettingsIssue[] = [];
  const migrated = migrate(raw, migrations, currentVersion, issues);
  const repaired = repair(settingsSchema, { ...migrated.value, version: currentVersion }, []);
  issues.push(...repaired.issues);
  // repair() only fails for a required key without a default; the root has none, but a schema change
  // could add one, so fall back to the defaults rather than not start.
  const candidate = repaired.ok ? repaired.value : {};
  const final = settingsSchema.safeParse(candidate);
  if (!final.success) {
    issues.push(...zodIssues(final.error, []).map((i) => ({ ...i, resolution: 'using all defaults' })));
    return { settings: defaultSettings(), issues, migratedFrom: migrated.from };
  }
  return { settings: final.data, issues, migratedFrom: migrated.from };
}

/** Applies migrations in order from the file's `version`. A file without one is taken as the current layout. */
function migrate(
  raw: Record<string, unknown>,
  migrations: readonly SettingsMigration[],
  currentVersion: number,
  issues: SettingsIssue[],
): { value: Record<string, unknown>; from?: number } {
  const declared = raw.version;
  if (declared === undefined) return { value: raw };
  if (typeof declared !== 'number' || !Number.isInteger(declared) || declared < 0) {
    issues.push({
      path: 'version',
      message: `expected a whole number, found ${describe(declared)}`,
      resolution: `read as version ${currentVersion}`,
    });
    return { value: raw };
  }
  if (declared > currentVersion) {
    issues.push({
      path: 'version',
      message: `written by a newer Agent Room (layout ${declared}, this one reads ${currentVersion})`,
      resolution: `keys this version knows are kept; the rest are reported below and ${BACKUP_NOTE}`,
    });
    return { value: raw };
  }
  if (declared === currentVersion) return { value: raw };
  let value = raw;
  for (let v = declared + 1; v <= currentVersion; v++) {
    const step = migrations.find((m) => m.to === v);
    if (!step) {
      issues.push({
        path: 'version',
        message: `no migration from layout ${v - 1} to ${v}`,
        resolution: 'reading the file as the current layout',
      });
      return { value, from: declared };
    }
    try {
      value = step.migrate(structuredClone(value));
    } catch (error) {
      issues.push({
        path: 'version',
        message: `migration to layout ${v} failed: ${(error as Error).message}`,
        resolution: 'reading the file as it was before that step',
      });
      return { value, from: declared };
    }
  }
  return { value, from: declared };
}

/** Keeps every valid key, replaces a wrong one by its default, drops wrong array items; fails only when a required key is wrong. */
function repair(schema: z.ZodType, value: unknown, path: Array<string | number>): Repaired {
  if (schema instanceof z.ZodDefault) {
    if (value === undefined) return { ok: true, value: schema.parse(undefined), issues: [] };
    const inner = repair(schema.unwrap() as z.ZodType, value, path);
    if (inner.ok) return inner;
    const fallback: unknown = schema.parse(undefined);
    return {
      ok: true,
      value: fallback,
      issues: resolve(inner.issues, `${at(path)} set to its default (${short(fallback)})`),
    };
  }
  if (schema instanceof z.ZodOptional) {
    if (value === undefined) return { ok: true, value: undefined, issues: [] };
    const inner = repair(schema.unwrap() as z.ZodType, value, path);
    if (inner.ok) return inner;
    return { ok: true, value: undefined, issues: resolve(inner.issues, `${at(path)} left unset`) };
  }
  if (schema instanceof z.ZodObject) return repairObject(schema, value, path);
  if (schema instanceof z.ZodArray) return repairArray(schema, value, path);
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const key = schema.def.discriminator;
    const options = schema.options as z.ZodType[];
    const match = isPlainObject(value)
      ? options.find((o) => o instanceof z.ZodObject && (o.shape[key] as z.ZodType).safeParse(value[key]).success)
      : undefined;
    if (!match) {
      const allowed = options
        .map((o) => (o instanceof z.ZodObject ? short((o.shape[key] as z.ZodLiteral).value) : '?'))
        .join(' | ');
      return {
        ok: false,
        issues: [
          {
            path: dotted([...path, key]),
            message: `expected one of ${allowed}, found ${describe(isPlainObject(value) ? value[key] : value)}`,
          },
        ],
      };
    }
    return repair(match, value, path);
  }
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true, value: result.data, issues: [] }
    : { ok: false, issues: zodIssues(result.error, path) };
}

function repairObject(schema: z.ZodObject, value: unknown, path: Array<string | number>): Repaired {
  if (!isPlainObject(value))
    return { ok: false, issues: [{ path: dotted(path), message: `expected an object, found ${describe(value)}` }] };
  const out: Record<string, unknown> = {};
  const issues: SettingsIssue[] = [];
  let ok = true;
  for (const [key, field] of Object.entries(schema.shape)) {
    const r = repair(field as z.ZodType, value[key], [...path, key]);
    issues.push(...r.issues);
    if (!r.ok) ok = false;
    else if (r.value !== undefined) out[key] = r.value;
  }
  for (const key of Object.keys(value)) {
    if (!(key in schema.shape))
      issues.push({ path: dotted([...path, key]), message: 'unknown key', resolution: `ignored; ${BACKUP_NOTE}` });
  }
  return ok ? { ok: true, value: out, issues } : { ok: false, issues };
}

function repairArray(schema: z.ZodArray, value: unknown, path: Array<string | number>): Repaired {
  if (!Array.isArray(value))
    return { ok: false, issues: [{ path: dotted(path), message: `expected a list, found ${describe(value)}` }] };
  const out: unknown[] = [];
  const issues: SettingsIssue[] = [];
  value.forEach((item, index) => {
    const r = repair(schema.element as z.ZodType, item, [...path, index]);
    if (r.ok) {
      out.push(r.value);
      issues.push(...r.issues);
    } else {
      const name = isPlainObject(item) && typeof item.id === 'string' ? ` "${item.id}"` : '';
      issues.push(...resolve(r.issues, `${dotted([...path, index])}${name} dropped; ${BACKUP_NOTE}`));
    }
  });
  // Later keys (minItems) would fail here; none exist today, and repair() reports it if one is added.
  const whole = schema.safeParse(out);
  return whole.success
    ? { ok: true, value: whole.data, issues }
    : { ok: false, issues: [...issues, ...zodIssues(whole.error, path)] };
}

/** A failure found deeper down is resolved where a default or a drop catches it; issues already resolved keep theirs. */
function resolve(issues: SettingsIssue[], resolution: string): SettingsIssue[] {
  return issues.map((i) => (i.resolution ? i : { ...i, resolution }));
}

function zodIssues(error: z.ZodError, path: Array<string | number>): SettingsIssue[] {
  return error.issues.map((i) => ({
    path: dotted([...path, ...(i.path as Array<string | number>)]),
    message: i.message,
  }));
}

function at(path: Array<string | number>): string {
  return path.length === 0 ? 'settings' : dotted(path);
}

function dotted(path: Array<string | number>): string {
  return path.join('.');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${short(v)}`;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
