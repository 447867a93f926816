// `set-password` and `set-recovery-key`: bad input refused with what to do, nothing stored; the real command
// reads the secret from piped stdin (never from the command line).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSetPassword } from '../../main/cli/account-command.ts';
import { dataPaths } from '../../main/core/paths.ts';
import { FileSecretStore } from '../../main/core/settings/secret-store.ts';
import { cliPath, nodeBin } from '../support/cli.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('account commands', () => {
  it('switching the owner to another account drops the old session and keeps its recovery key aside', async () => {
    dir = await mkdtemp(join(tmpdir(), 'account-cmd-'));
    const paths = dataPaths(dir);
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ version: 1, owner: { localpart: 'ada' } }));
    const secrets = new FileSecretStore({ file: paths.secrets });
    for (const [k, v] of Object.entries({
      'matrix.owner.userId': '@owner:x',
      'matrix.owner.accessToken': 't',
      'matrix.owner.deviceId': 'D',
      'matrix.owner.password': 'old',
      'crypto.owner.recoveryKey': 'EsTc old',
      'crypto.owner.setupStarted': '@owner:x',
    }))
      await secrets.set(k, v);
    const out: string[] = [];
    expect(await runSetPassword(paths, 'owner', { read: async () => 'new-password', out: (l) => out.push(l) })).toBe(0);
    expect(out[0]).toMatch(/owner changes from @owner:x to "ada"/);
    const after = new FileSecretStore({ file: paths.secrets });
    for (const gone of [
      'matrix.owner.userId',
      'matrix.owner.accessToken',
      'matrix.owner.deviceId',
      'crypto.owner.recoveryKey',
      'crypto.owner.setupStarted',
    ])
      expect(await after.get(gone)).toBeUndefined();
    expect(await after.get('crypto.owner.recoveryKey.previous')).toBe('EsTc old');
    expect(await after.get('matrix.owner.password')).toBe('new-password');
    expect(await after.get('matrix.owner.password.previous')).toBe('old');
  });

  it('refuses an unknown account name and an empty password, storing nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'account-cmd-'));
    const paths = dataPaths(dir);
    const out: string[] = [];
    expect(await runSetPassword(paths, '@Owner:x', { read: async () => 'pw', out: (l) => out.push(l) })).toBe(2);
    expect(await runSetPassword(paths, 'owner', { read: async () => '', out: (l) => out.push(l) })).toBe(1);
    expect(out).toEqual([
      '"@Owner:x" is not an account here: use "owner". A new bot goes into settings first.',
      'No password given: nothing changed.',
    ]);
    expect(await new FileSecretStore({ file: paths.secrets }).get('matrix.owner.password')).toBeUndefined();
  });

  it('reads the password from piped stdin through the real CLI', async () => {
    dir = await mkdtemp(join(tmpdir(), 'account-cmd-'));
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ version: 1, bots: [{ id: 'helper', displayName: 'Helper', model: 'ollama:tiny' }] }),
    );
    const out = execFileSync(nodeBin, [cliPath, '--data-dir', dir, 'set-password', 'helper'], {
      input: ' hunter2 from stdin \n',
      encoding: 'utf8',
    });
    expect(out).toMatch(/Saved in .*secrets\.json/);
    expect(out).not.toContain('hunter2');
    // Spaces are part of a password: only the line ending is dropped.
    expect(await new FileSecretStore({ file: dataPaths(dir).secrets }).get('matrix.bot.helper.password')).toBe(
      ' hunter2 from stdin ',
    );
  }, 30_000);
});

describe('saveRecoveryKey', () => {
  it('normalises the key, refuses what is not one, and keeps a different key it replaces', async () => {
    const { saveRecoveryKey } = await import('../../main/core/crypto/owner-recovery.ts');
    const { MemorySecretStore } = await import('../../main/core/settings/secret-store.ts');
    const { encodeRecoveryKey } = await import('matrix-js-sdk/lib/crypto-api/recovery-key.js');
    const secrets = new MemorySecretStore();
    const a = encodeRecoveryKey(new Uint8Array(32).fill(1))!;
    const b = encodeRecoveryKey(new Uint8Array(32).fill(2))!;
    await expect(saveRecoveryKey(secrets, 'k', 'EsTc nope')).rejects.toMatchObject({
      action: expect.stringMatching(/12 groups of 4/),
    });
    expect(await secrets.get('k')).toBeUndefined();
    expect(await saveRecoveryKey(secrets, 'k', `  ${a.replace(/ /g, '\n ')} `)).toEqual({ replaced: false });
    expect(await secrets.get('k')).toBe(a);
    expect(await saveRecoveryKey(secrets, 'k', b)).toEqual({ replaced: true });
    expect(await secrets.get('k.previous')).toBe(a);
  });
});
