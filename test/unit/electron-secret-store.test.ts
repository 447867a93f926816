// Secrets on the desktop: safeStorage when a keychain protects them, the owner-only file with a warning otherwise.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { FileSecretStore, SecretStoreError } from '../../main/core/settings/secret-store.ts';
import {
  SafeStorageSecretStore,
  createElectronSecretStore,
  keychainUnavailableReason,
} from '../../main/electron/secret-store-electron.ts';
import { ElectronSettingsStore } from '../../main/electron/settings-adapter.ts';
import { electronMock, resetElectronMock } from '../support/electron-mock.ts';

let dir: string;
const logs: Array<[string, string]> = [];
const logger = {
  warn: (_o: object, m: string) => void logs.push(['warn', m]),
  info: (_o: object, m: string) => void logs.push(['info', m]),
};

beforeEach(() => {
  resetElectronMock();
  dir = mkdtempSync(join(tmpdir(), 'agent-room-secrets-'));
  logs.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('safeStorage secret store', () => {
  it('encrypts with the keychain: the file never holds the secret in clear', async () => {
    const choice = await createElectronSecretStore({ dataDir: dir, platform: 'linux', logger });
    expect(choice.encrypted).toBe(true);
    expect(choice.store).toBeInstanceOf(SafeStorageSecretStore);
    await choice.store.set('bot.qwen.password', 'hunter2-very-secret');
    expect(await choice.store.get('bot.qwen.password')).toBe('hunter2-very-secret');
    expect(await choice.store.list()).toEqual(['bot.qwen.password']);
    const file = join(dir, 'secrets.safe.json');
    expect(readFileSync(file, 'utf8')).not.toContain('hunter2');
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    await choice.store.delete('bot.qwen.password');
    expect(await choice.store.get('bot.qwen.password')).toBeUndefined();
  });

  it('a value that cannot be decrypted gives an error that says what to do', async () => {
    const store = new SafeStorageSecretStore(join(dir, 'secrets.safe.json'));
    await new FileSecretStore({ file: join(dir, 'secrets.safe.json') }).set(
      'api',
      Buffer.from('garbage').toString('base64'),
    );
    await expect(store.get('api')).rejects.toThrow(SecretStoreError);
    await expect(store.get('api')).rejects.toThrow(/enter it again/);
  });

  it.each([
    ['no keychain at all', false, 'gnome_libsecret', 'linux'],
    ["Linux 'basic_text' (a fixed key)", true, 'basic_text', 'linux'],
  ] as const)('falls back to the owner-only file with a warning: %s', async (_name, available, backend, platform) => {
    electronMock.safeStorage.available = available;
    electronMock.safeStorage.backend = backend;
    const choice = await createElectronSecretStore({ dataDir: dir, platform, logger });
    expect(choice.encrypted).toBe(false);
    expect(choice.store).toBeInstanceOf(FileSecretStore);
    expect(choice.warning).toMatch(/Secrets are not encrypted/);
    expect(logs.filter(([level]) => level === 'warn').map(([, m]) => m)).toEqual([choice.warning]);
    await choice.store.set('k', 'v');
    if (process.platform !== 'win32') expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
  });

  it("'basic_text' is only a problem on Linux", () => {
    electronMock.safeStorage.backend = 'basic_text';
    expect(keychainUnavailableReason('darwin')).toBeUndefined();
    expect(keychainUnavailableReason('linux')).toMatch(/secret service/);
  });

  it('secrets kept in the plain file while there was no keychain move into the encrypted store', async () => {
    await new FileSecretStore({ file: join(dir, 'secrets.json') }).set('openai.key', 'sk-123');
    const choice = await createElectronSecretStore({ dataDir: dir, platform: 'linux', logger });
    expect(await choice.store.get('openai.key')).toBe('sk-123');
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
  });
});

describe('electron-store settings adapter', () => {
  it('recovers a bad file like serve does, then stores through electron-store', () => {
    const file = join(dir, 'settings.json');
    // A bad key is reported and falls back to its default; the rest is kept.
    writeFileSync(file, JSON.stringify({ version: 1, ui: { closeToTray: 'yes', startHidden: true } }));
    const store = new ElectronSettingsStore({ dataDir: dir, logger: createMemoryLogger('silent').logger });
    expect(store.path).toBe(file);
    expect(store.issues.map((i) => i.path)).toContain('ui.closeToTray');
    expect(store.get().ui).toMatchObject({ closeToTray: true, startHidden: true });
    const seen: boolean[] = [];
    store.onChange((s) => seen.push(s.ui.notifications));
    store.update((s) => ({ ...s, ui: { ...s.ui, notifications: false } }));
    expect(seen).toEqual([false]);
    expect(JSON.parse(readFileSync(file, 'utf8')).ui.notifications).toBe(false);
    expect(() => store.set({ ...store.get(), guard: { ...store.get().guard, maxHops: 99 } })).toThrow(/maxHops|guard/);
  });
});
