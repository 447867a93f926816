// Desktop settings: electron-store on <data>/settings.json with the shared schema and the same recovery
// as serve's conf store (loadSettings → recoverSettings), so a bad file is repaired the same way in both.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ElectronStore from 'electron-store';
import { settingsSchema, type Settings } from '../common/settings-schema.ts';
import { SettingsValidationError, loadSettings, type SettingsIssue, type SettingsLogger, type SettingsStore } from '../core/settings/settings-store.ts';
import type { RecoverOptions } from '../core/settings/recover-settings.ts';

export interface ElectronSettingsStoreOptions extends RecoverOptions {
  dataDir: string;
  logger: SettingsLogger;
  now?: () => Date;
}

export class ElectronSettingsStore implements SettingsStore {
  readonly issues: SettingsIssue[];
  readonly backupPath: string | undefined;
  readonly path: string;
  readonly #store: ElectronStore<Settings>;
  readonly #listeners = new Set<(s: Settings) => void>();
  readonly #logger: SettingsLogger;
  #current: Settings;

  constructor(options: ElectronSettingsStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.#logger = options.logger;
    // Recovery reads the raw file first: electron-store would throw on bad JSON or wipe it (clearInvalidConfig).
    const loaded = loadSettings({ ...options, file: join(options.dataDir, 'settings.json') });
    this.issues = loaded.issues;
    this.backupPath = loaded.backupPath;
    this.#current = loaded.settings;
    // Validation is ours (zod), so electron-store gets no JSON schema and no migrations of its own.
    this.#store = new ElectronStore<Settings>({
      cwd: options.dataDir,
      name: 'settings',
      watch: false,
      clearInvalidConfig: false,
      accessPropertiesByDotNotation: false,
    });
    this.path = this.#store.path;
    if (dirname(this.path) !== options.dataDir) throw new Error(`electron-store chose ${this.path}, expected a file in ${options.dataDir}`);
    this.#store.store = loaded.settings;
  }

  get(): Settings {
    return structuredClone(this.#current);
  }

  set(next: Settings): void {
    const parsed = settingsSchema.safeParse(next);
    if (!parsed.success) {
      throw new SettingsValidationError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    }
    this.#store.store = parsed.data;
    this.#current = parsed.data;
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.get());
      } catch (error) {
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
