// `set-password` and `set-recovery-key`: bad input refused with what to do, nothing stored; the real command
// reads the secret from piped stdin (never from the command line).
import { execFileSync } from 'node:child_process';
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
  it('refuses an unknown account name and an empty password, storing nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'account-cmd-'));
    const paths = dataPaths(dir);
    const out: string[] = [];
    expect(await runSetPassword(paths, '@Owner:x', { read: async () => 'pw', out: (l) => out.push(l) })).toBe(2);
    expect(await runSetPassword(paths, 'owner', { read: async () => '', out: (l) => out.push(l) })).toBe(1);
    expect(out).toEqual(['"@Owner:x" is not an account name here: use "owner" or a bot id from settings.', 'No password given: nothing changed.']);
    expect(await new FileSecretStore({ file: paths.secrets }).get('matrix.owner.password')).toBeUndefined();
  });

  it('reads the password from piped stdin through the real CLI', async () => {
    dir = await mkdtemp(join(tmpdir(), 'account-cmd-'));
    const out = execFileSync(nodeBin, [cliPath, '--data-dir', dir, 'set-password', 'helper'], { input: 'hunter2-from-stdin\n', encoding: 'utf8' });
    expect(out).toMatch(/^Saved in .*secrets\.json/);
    expect(out).not.toContain('hunter2');
    expect(await new FileSecretStore({ file: dataPaths(dir).secrets }).get('matrix.bot.helper.password')).toBe('hunter2-from-stdin');
  }, 30_000);
});
