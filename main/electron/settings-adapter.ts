// Desktop settings: electron-store on <data>/settings.json with the shared schema and the same recovery
// as serve's conf store (loadSettings → recoverSettings), so a bad file is repaired the same way in both.
import ElectronStore from 'electron-store';
import type { Settings } from '../common/settings-schema.ts';
import { BackedSettingsStore, type SettingsLogger } from '../core/settings/settings-store.ts';
import type { RecoverOptions } from '../core/settings/recover-settings.ts';

export interface ElectronSettingsStoreOptions extends RecoverOptions {
  dataDir: string;
  logger: SettingsLogger;
  now?: () => Date;
}

export class ElectronSettingsStore extends BackedSettingsStore {
  constructor(options: ElectronSettingsStoreOptions) {
    // Validation is ours (zod), so electron-store gets no JSON schema and no migrations of its own.
    super(
      options,
      (dataDir) =>
        new ElectronStore<Settings>({
          cwd: dataDir,
          name: 'settings',
          watch: false,
          clearInvalidConfig: false,
          accessPropertiesByDotNotation: false,
        }),
    );
  }
}
