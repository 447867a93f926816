// API keys: shown once, kept only as a hash in a 0600 file, listed without the key, revoked by name; a key
// made or revoked by another process (the CLI while serve runs) counts at the next request.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeyError, ApiKeyStore, apiKeysFile } from '../../main/core/api/api-keys.ts';

const fresh = () => apiKeysFile(join(mkdtempSync(join(tmpdir(), 'api-keys-')), 'state'));

describe('ApiKeyStore', () => {
  it('creates an ar- key of 256 random bits, keeps only its hash in a 0600 file, and verifies it', async () => {
    const file = fresh();
    const store = new ApiKeyStore({ file });
    const { key } = await store.create('alice');
    expect(key).toMatch(/^ar-[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(7));
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await store.verify(key)).toBe('alice');
    expect(await store.verify(`${key.slice(0, -1)}x`)).toBeUndefined();
    expect(await store.verify('sk-not-ours')).toBeUndefined();
    expect(await store.list()).toEqual([{ name: 'alice', prefix: key.slice(0, 7), createdAt: expect.any(String) }]);
  });

  it('refuses a second key of the same name and a name with odd characters', async () => {
    const store = new ApiKeyStore({ file: fresh() });
    await store.create('ci');
    await expect(store.create('ci')).rejects.toBeInstanceOf(ApiKeyError);
    await expect(store.create('a b')).rejects.toThrow(/cannot name an API key/);
  });

  it("sees another process's create and revoke at the next verify", async () => {
    const file = fresh();
    const serve = new ApiKeyStore({ file });
    const cli = new ApiKeyStore({ file });
    expect(await serve.count()).toBe(0);
    const { key } = await cli.create('bob');
    expect(await serve.verify(key)).toBe('bob');
    expect(await cli.revoke('bob')).toBe(true);
    expect(await serve.verify(key)).toBeUndefined();
    expect(await cli.revoke('bob')).toBe(false);
  });
});
