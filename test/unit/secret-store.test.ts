// The serve secret store: owner-only file, atomic replace, list/delete; and the in-memory one for tests.
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSecretStore, MemorySecretStore, SecretStoreError } from '../../main/core/settings/secret-store.ts';
import type { SecretStore } from '../../main/core/settings/secret-store.ts';

const posix = process.platform !== 'win32';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-room-secrets-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe.each([
  ['FileSecretStore', () => new FileSecretStore({ file: join(dir, 'data', 'secrets.json') }) as SecretStore],
  ['MemorySecretStore', () => new MemorySecretStore() as SecretStore],
])('%s', (_name, make) => {
  it('sets, gets, lists sorted and deletes', async () => {
    const store = make();
    expect(await store.list()).toEqual([]);
    expect(await store.get('bot.alpha.password')).toBeUndefined();
    await store.set('endpoint.openai.apiKey', 'sk-1');
    await store.set('bot.alpha.password', 'pw');
    expect(await store.list()).toEqual(['bot.alpha.password', 'endpoint.openai.apiKey']);
    expect(await store.get('endpoint.openai.apiKey')).toBe('sk-1');
    await store.set('endpoint.openai.apiKey', 'sk-2');
    expect(await store.get('endpoint.openai.apiKey')).toBe('sk-2');
    await store.delete('endpoint.openai.apiKey');
    await store.delete('never-there');
    expect(await store.list()).toEqual(['bot.alpha.password']);
  });

  it('does not answer for names inherited from Object.prototype', async () => {
    expect(await make().get('toString')).toBeUndefined();
  });

  it('rejects an empty name', async () => {
    await expect(make().set('', 'x')).rejects.toThrow(TypeError);
  });
});

describe('FileSecretStore on disk', () => {
  it.runIf(posix)('creates the folder 0700 and the file 0600, and keeps 0600 across writes', async () => {
    const file = join(dir, 'data', 'secrets.json');
    const store = new FileSecretStore({ file });
    await store.set('a', '1');
    expect(mode(join(dir, 'data'))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    await store.set('b', '2');
    expect(mode(file)).toBe(0o600);
  });

  it.runIf(posix)('narrows a file that was left readable by others back to 0600', async () => {
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ version: 1, secrets: { k: 'v' } }));
    chmodSync(file, 0o644);
    expect(await new FileSecretStore({ file }).get('k')).toBe('v');
    expect(mode(file)).toBe(0o600);
  });

  it('writes atomically: a new file is renamed over the old one, no temporary file is left, no concurrent write is lost', async () => {
    const file = join(dir, 'secrets.json');
    const store = new FileSecretStore({ file });
    await store.set('first', '1');
    // A hard link keeps the old file: written in place it would change too; replaced by rename it does not.
    const oldFile = join(dir, 'old-link');
    linkSync(file, oldFile);
    const before = readFileSync(oldFile, 'utf8');
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`k${i}`, `v${i}`)));
    expect(readFileSync(oldFile, 'utf8')).toBe(before);
    expect(statSync(file).ino).not.toBe(statSync(oldFile).ino);
    rmSync(oldFile);
    expect(readdirSync(dir)).toEqual(['secrets.json']);
    const other = new FileSecretStore({ file });
    expect(await other.list()).toHaveLength(21);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1, secrets: { first: '1', k19: 'v19' } });
  });

  it('refuses a corrupt secrets file instead of replacing it with an empty one', async () => {
    const file = join(dir, 'secrets.json');
    writeFileSync(file, '{"version":1,"secrets":{');
    const store = new FileSecretStore({ file });
    await expect(store.get('x')).rejects.toThrow(SecretStoreError);
    await expect(store.set('x', 'y')).rejects.toThrow(/not valid JSON.*Restore it from a backup/);
    expect(readFileSync(file, 'utf8')).toBe('{"version":1,"secrets":{');
    // The chain goes on after a failure: a later call is answered, not stuck.
    await expect(store.list()).rejects.toThrow(SecretStoreError);
  });

  it('says where the secrets are and why they are not in a keychain', () => {
    const store = new FileSecretStore({ file: join(dir, 'secrets.json') });
    expect(store.warning).toContain(join(dir, 'secrets.json'));
    expect(store.warning).toMatch(/readable by this user only.*no OS keychain/);
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
  });
});
