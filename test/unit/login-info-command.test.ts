// `agent-room login-info`: what a person needs to sign in from Element, the password and the recovery key only
// when asked for, and the hint that the recovery key makes Element trust the bots.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runLoginInfo } from '../../main/cli/status-command.ts';
import { dataPaths } from '../../main/core/paths.ts';
import { writeProvisionState } from '../../main/core/provisioning/state.ts';
import { FileSecretStore } from '../../main/core/settings/secret-store.ts';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function setup(withRecoveryKey: boolean) {
  dir = await mkdtemp(join(tmpdir(), 'login-info-'));
  const paths = dataPaths(dir);
  await writeProvisionState(paths.state, {
    version: 1,
    homeserverUrl: 'http://127.0.0.1:8448',
    serverName: 'agent-room.localhost',
    roomId: '!team:agent-room.localhost',
    owner: { userId: '@owner:agent-room.localhost' },
    bots: [],
  });
  const secrets = new FileSecretStore({ file: paths.secrets });
  await secrets.set('matrix.owner.password', 'correct horse battery staple');
  if (withRecoveryKey) await secrets.set('crypto.owner.recoveryKey', 'EsTc 1234 abcd');
  return paths;
}

describe('login-info', () => {
  it('hides the password and the recovery key unless asked, and prints both when asked', async () => {
    const paths = await setup(true);
    const hidden: string[] = [];
    expect(await runLoginInfo(paths, {}, (l) => hidden.push(l))).toBe(0);
    expect(hidden.join('\n')).not.toMatch(/battery|EsTc/);
    expect(hidden).toContain('Password:       hidden (add --show-password to print it and the recovery key)');
    const shown: string[] = [];
    await runLoginInfo(paths, { showPassword: true }, (l) => shown.push(l));
    expect(shown).toContain('Password:       correct horse battery staple');
    expect(shown).toContain('Recovery key:   EsTc 1234 abcd');
    expect(shown.at(-1)).toMatch(/encrypted.*recovery key.*bots as verified/);
  });

  it('says nothing of a recovery key for an unencrypted team', async () => {
    const paths = await setup(false);
    const out: string[] = [];
    await runLoginInfo(paths, { showPassword: true }, (l) => out.push(l));
    expect(out.join('\n')).not.toMatch(/[Rr]ecovery/);
  });

  it('--json prints one JSON object for scripts, with the secrets only when asked', async () => {
    const paths = await setup(true);
    const hidden: string[] = [];
    expect(await runLoginInfo(paths, { json: true }, (l) => hidden.push(l))).toBe(0);
    expect(hidden).toHaveLength(1);
    expect(JSON.parse(hidden[0]!)).toEqual({
      homeserverUrl: 'http://127.0.0.1:8448',
      userId: '@owner:agent-room.localhost',
      roomId: '!team:agent-room.localhost',
      recoveryKeyStored: true,
    });
    const shown: string[] = [];
    await runLoginInfo(paths, { json: true, showPassword: true }, (l) => shown.push(l));
    expect(JSON.parse(shown[0]!)).toMatchObject({
      password: 'correct horse battery staple',
      recoveryKey: 'EsTc 1234 abcd',
    });
  });

  it('--json before the first serve: exit 1 with the reason as JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'login-info-'));
    const out: string[] = [];
    expect(await runLoginInfo(dataPaths(dir), { json: true }, (l) => out.push(l))).toBe(1);
    expect(JSON.parse(out.join('\n'))).toEqual({
      error: expect.stringMatching(/^No account yet: run `agent-room serve` once/),
    });
  });
});
