// Settings on disk for serve (conf), and the load-and-recover step every store adapter shares.
// A bad settings file never stops the app: it is copied aside, each wrong key is reported and
// falls back to its default, and the repaired settings are written back.
import { copyFileSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Conf from 'conf';
import { defaultSettings, settingsSchema } from '../../common/settings-schema.ts';
import type { Settings } from '../../common/settings-schema.ts';
import type { Logger } from '../logging/logger.ts';
import { formatSettingsIssue, recoverSettings } from './recover-settings.ts';
import type { RecoverOptions, SettingsIssue } from './recover-settings.ts';

export { formatSettingsIssue, recoverSettings, SETTINGS_MIGRATIONS } from './recover-settings.ts';
export type { RecoverOptions, RecoveredSettings, SettingsIssue, SettingsMigration } from './recover-settings.ts';

export interface SettingsStore {
  /** A copy: changing it changes nothing until set(). */
  get(): Settings;
  /** Validates, writes to disk, then tells listeners. Throws SettingsValidationError and writes nothing when invalid. */
  set(next: Settings): void;
  update(fn: (s: Settings) => Settings): Settings;
  /** Returns the unsubscribe. */
  onChange(listener: (s: Settings) => void): () => void;
  /** What was wrong with the file at load (empty when it was fine). */
  readonly issues: SettingsIssue[];
}

export class SettingsValidationError extends Error {
  readonly issues: SettingsIssue[];
  constructor(issues: SettingsIssue[]) {
    super(`Settings not saved: ${issues.map(formatSettingsIssue).join('; ')}. Correct these values and save again.`);
    this.name = 'SettingsValidationError';
    this.issues = issues;
  }
}

export class SettingsFileError extends Error {
  readonly file: string;
  constructor(message: string, file: string, cause: unknown) {
    super(message, { cause });
    this.name = 'SettingsFileError';
    this.file = file;
  }
}

export type SettingsLogger = Pick<Logger, 'info' | 'warn'>;

export interface LoadSettingsOptions extends RecoverOptions {
  /** <data>/settings.json */
  file: string;
  logger: SettingsLogger;
  now?: () => Date;
  /** Write the repaired settings back after keeping a copy of the bad file (default true). */
  rewrite?: boolean;
}

export interface LoadedSettings {
  settings: Settings;
  issues: SettingsIssue[];
  /** Where the file as it was found was copied, when it had to be changed. */
  backupPath?: string;
}

/**
 * Reads, migrates and validates the settings file. Never throws for what the file holds.
 * Recovery runs on the raw text before any store library opens the file, because conf and
 * electron-store throw on invalid JSON (or, with clearInvalidConfig, silently wipe the file):
 * neither keeps a copy nor says which key was wrong.
 */
export function loadSettings(options: LoadSettingsOptions): LoadedSettings {
  const { file, logger } = options;
  const now = options.now ?? (() => new Date());
  if (!existsSync(file)) return { settings: defaultSettings(), issues: [] };

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // Unreadable (permissions, a folder in its place) is not something defaults can paper over: the
    // same file could not be written either, and replacing it would lose the person's settings.
    throw new SettingsFileError(
      `Cannot read the settings file ${file}: ${(error as Error).message}. Check that this user owns it and can read and write it.`,
      file,
      error,
    );
  }
  let raw: unknown;
  let parseIssue: SettingsIssue | undefined;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    parseIssue = {
      path: '',
      message: `not valid JSON (${(error as Error).message})`,
      resolution: 'using all defaults; the file is kept in the backup copy',
    };
  }
  const recovered = parseIssue
    ? { settings: defaultSettings(), issues: [parseIssue], migratedFrom: undefined }
    : recoverSettings(raw, options);
  const { settings, issues, migratedFrom } = recovered;
  if (issues.length === 0 && migratedFrom === undefined) return { settings, issues };

  const kind = issues.length > 0 ? 'bad' : `v${migratedFrom}`;
  const backupPath = keepCopy(file, kind, now());
  for (const issue of issues) {
    logger.warn(
      { key: issue.path, reason: issue.message, resolution: issue.resolution, file, backup: backupPath },
      `settings: ${formatSettingsIssue(issue)}`,
    );
  }
  if (migratedFrom !== undefined)
    logger.info(
      { file, from: migratedFrom, to: settings.version, backup: backupPath },
      'settings: migrated to the current layout',
    );
  if (issues.length > 0) {
    logger.warn(
      { file, backup: backupPath, count: issues.length },
      `settings: ${issues.length} problem(s) in ${file}; the file as found is kept at ${backupPath}`,
    );
  }
  if (options.rewrite ?? true) writeJsonAtomic(file, settings);
  return { settings, issues, backupPath };
}

/** settings.json.bad-2026-11-20T10-11-12-345Z: colons are not allowed in Windows file names. */
function keepCopy(file: string, kind: string, at: Date): string {
  const stamp = at.toISOString().replace(/:/g, '-').replace(/\./g, '-');
  for (let n = 0; ; n++) {
    const candidate = `${file}.${kind}-${stamp}${n === 0 ? '' : `-${n}`}`;
    try {
      copyFileSync(file, candidate, constants.COPYFILE_EXCL);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, '\t')}\n`);
  renameSync(tmp, file);
}

export interface ConfSettingsStoreOptions extends RecoverOptions {
  /** The data directory; the file is <dataDir>/settings.json. */
  dataDir: string;
  logger: SettingsLogger;
  now?: () => Date;
}

/** What a file-backed key-value store (conf, electron-store) offers: the whole object, read and written. */
export interface SettingsBacking {
  store: Settings;
  readonly path: string;
}

/**
 * The part both stores share: recovery of the file before the backing library opens it (conf and
 * electron-store throw on bad JSON, or wipe the file with clearInvalidConfig), validation of every
 * write with the shared schema, and change listeners.
 */
export class BackedSettingsStore implements SettingsStore {
  readonly issues: SettingsIssue[];
  readonly backupPath: string | undefined;
  readonly path: string;
  readonly #backing: SettingsBacking;
  readonly #listeners = new Set<(s: Settings) => void>();
  readonly #logger: SettingsLogger;
  #current: Settings;

  constructor(options: ConfSettingsStoreOptions, open: (dataDir: string) => SettingsBacking) {
    mkdirSync(options.dataDir, { recursive: true });
    this.#logger = options.logger;
    const file = join(options.dataDir, 'settings.json');
    const loaded = loadSettings({ ...options, file });
    this.issues = loaded.issues;
    this.backupPath = loaded.backupPath;
    this.#current = loaded.settings;
    this.#backing = open(options.dataDir);
    this.path = this.#backing.path;
    if (dirname(this.path) !== dirname(file))
      throw new Error(`The settings library chose ${this.path}, expected ${file}`);
    // Writes defaults for a first start, so the person finds a file to edit.
    this.#backing.store = loaded.settings;
  }

  get(): Settings {
    return structuredClone(this.#current);
  }

  set(next: Settings): void {
    const parsed = settingsSchema.safeParse(next);
    if (!parsed.success) {
      throw new SettingsValidationError(
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    this.#backing.store = parsed.data;
    this.#current = parsed.data;
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.get());
      } catch (error) {
        // One broken listener must not stop the others from hearing about the change.
        this.#logger.warn({ err: error }, 'settings: a change listener threw');
      }
    }
  }

  update(fn: (s: Settings) => Settings): Settings {
    this.set(fn(this.get()));
    return this.get();
  }

  onChange(listener: (s: Settings) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

/** serve's store: conf with the same schema, defaults and recovery as the desktop's electron-store. */
export class ConfSettingsStore extends BackedSettingsStore {
  constructor(options: ConfSettingsStoreOptions) {
    // Validation is ours (zod), not conf's JSON schema, so conf gets no schema and no migrations.
    super(
      options,
      (dataDir) =>
        new Conf<Settings>({
          cwd: dataDir,
          configName: 'settings',
          projectName: 'agent-room',
          watch: false,
          clearInvalidConfig: false,
          accessPropertiesByDotNotation: false,
        }),
    );
  }
}
