// Secrets on the desktop: encrypted with the OS keychain through safeStorage. Where there is no keychain
// (Linux without a secret service, where Chromium falls back to 'basic_text', a hard-coded key), the
// owner-only file store of serve is used instead, with a warning that says so.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { safeStorage } from 'electron';
import { FileSecretStore, SecretStoreError, type SecretStore } from '../core/settings/secret-store.ts';

/** Holds base64 ciphertext in an owner-only file (the file store's atomic writes and 0600 mode). */
export class SafeStorageSecretStore implements SecretStore {
  readonly #file: FileSecretStore;

  constructor(readonly path: string) {
    this.#file = new FileSecretStore({ file: path });
  }

  async get(name: string): Promise<string | undefined> {
    const sealed = await this.#file.get(name);
    if (sealed === undefined) return undefined;
    try {
      return safeStorage.decryptString(Buffer.from(sealed, 'base64'));
    } catch (error) {
      throw new SecretStoreError(
        `The secret ${name} cannot be decrypted with this user's keychain (${(error as Error).message}). It was probably saved by another user or machine: enter it again.`,
        this.path,
        { cause: error },
      );
    }
  }

  async set(name: string, value: string): Promise<void> {
    await this.#file.set(name, safeStorage.encryptString(value).toString('base64'));
  }

  delete(name: string): Promise<void> {
    return this.#file.delete(name);
  }

  list(): Promise<string[]> {
    return this.#file.list();
  }
}

export interface SecretStoreChoice {
  store: SecretStore;
  encrypted: boolean;
  /** Set when the fallback file is used: show it in the log and the status. */
  warning?: string;
}

/** Why safeStorage cannot protect secrets here, or undefined when it can. Call after app 'ready'. */
export function keychainUnavailableReason(platform: NodeJS.Platform): string | undefined {
  if (!safeStorage.isEncryptionAvailable()) return 'the OS keychain is not available';
  if (platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
    return 'no secret service (GNOME Keyring, KWallet) is running, so Electron would encrypt with a fixed key';
  }
  return undefined;
}

export interface CreateSecretStoreOptions {
  dataDir: string;
  platform: NodeJS.Platform;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * Picks the store: safeStorage (<data>/secrets.safe.json) when a keychain protects it, else the
 * owner-only plain file (<data>/secrets.json). Secrets left in the plain file from a time without a
 * keychain move into the encrypted store, and the plain file is removed.
 */
export async function createElectronSecretStore(options: CreateSecretStoreOptions): Promise<SecretStoreChoice> {
  const plainPath = join(options.dataDir, 'secrets.json');
  const reason = keychainUnavailableReason(options.platform);
  if (reason) {
    const store = new FileSecretStore({ file: plainPath });
    const warning = `Secrets are not encrypted: ${reason}. ${store.warning} Install and unlock a keychain (e.g. gnome-keyring) to have them encrypted.`;
    options.logger.warn({ file: plainPath }, warning);
    return { store, encrypted: false, warning };
  }
  const store = new SafeStorageSecretStore(join(options.dataDir, 'secrets.safe.json'));
  if (existsSync(plainPath)) {
    const plain = new FileSecretStore({ file: plainPath });
    const names = await plain.list();
    for (const name of names) {
      const value = await plain.get(name);
      if (value !== undefined) await store.set(name, value);
    }
    await rm(plainPath, { force: true });
    options.logger.info(
      { count: names.length },
      'secrets: moved from the plain file into the keychain-encrypted store',
    );
  }
  return { store, encrypted: true };
}
