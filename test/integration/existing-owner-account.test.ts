// Your own account as the owner on an external homeserver: its password given with `agent-room set-password owner`,
// its encryption keys (made in Element) left alone, and used once its recovery key is given with
// `agent-room set-recovery-key` — the app's devices then cross-sign with your existing identity.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'matrix-js-sdk';
import { runSetPassword, runSetRecoveryKey } from '../../main/cli/account-command.ts';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import { importOwnerIdentity, setupOwnerRecovery } from '../../main/core/crypto/owner-recovery.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { dataPaths, type DataPaths } from '../../main/core/paths.ts';
import { OWNER_RECOVERY_SECRET } from '../../main/core/provisioning/encryption.ts';
import { SasRendezvous, vouchForBots } from '../../main/core/provisioning/owner-trust.ts';
import { provision } from '../../main/core/provisioning/provisioner.ts';
import { FileSecretStore, MemorySecretStore, type SecretStore } from '../../main/core/settings/secret-store.ts';
import { startCryptoDevice, type CryptoDevice } from '../support/crypto-device.ts';
import { startMatrixTarget, type MatrixTarget } from '../support/matrix-target.ts';
import { quiet } from '../support/bots-harness.ts';

const TOKEN = 'existing-owner-token';
const PASSWORD = 'my-own-password-0123456789';
let hs: MatrixTarget;
let dir: string;
let paths: DataPaths;
let me: { userId: string; deviceId: string; accessToken: string };
let elementRecoveryKey = '';
let masterBefore = '';
const cleanups: Array<() => Promise<void> | void> = [];

async function startDevice(
  session: { userId: string; deviceId: string; accessToken: string },
  secrets: SecretStore,
  recoverySecret: string,
): Promise<CryptoDevice> {
  const device = await startCryptoDevice({
    baseUrl: hs.url,
    session,
    secrets,
    recoverySecret,
    dir,
    password: PASSWORD,
  });
  cleanups.push(device.stop);
  return device;
}

async function masterKeyOf(userId: string, token: string): Promise<string> {
  const res = await fetch(`${hs.url}/_matrix/client/v3/keys/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ device_keys: { [userId]: [] } }),
  });
  const body = (await res.json()) as { master_keys: Record<string, { keys: Record<string, string> }> };
  return Object.values(body.master_keys[userId]?.keys ?? {})[0] ?? '';
}

const settings = () =>
  settingsSchema.parse({
    owner: { localpart: `me${hs.suffix}` },
    bots: [{ id: `helper${hs.suffix}`, displayName: 'Helper', model: 'ollama:tiny' }],
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'existing-owner-'));
  paths = dataPaths(join(dir, 'data'));
  hs = await startMatrixTarget({ serverName: 'own.local', registrationToken: TOKEN });
  // The person's account, with encryption set up in "Element" (its own recovery key, not the app's).
  me = await hs.register('me', PASSWORD);
  await createClient({ baseUrl: hs.url, ...me, logger: quiet }).setDisplayName('Ada Lovelace');
  const element = new MemorySecretStore();
  const { client } = await startDevice(me, element, 'element.recoveryKey');
  elementRecoveryKey = (
    await setupOwnerRecovery(client, { password: PASSWORD, secrets: element, secretName: 'element.recoveryKey' })
  ).recoveryKey;
  masterBefore = await masterKeyOf(me.userId, me.accessToken);
  expect(masterBefore).not.toBe('');
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await hs?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('your own account as the owner', () => {
  it('refuses a taken name without a password, with the command that fixes it', async () => {
    await expect(
      provision({
        homeserverUrl: hs.url,
        registrationToken: hs.registrationToken,
        stateDir: paths.state,
        secrets: new FileSecretStore({ file: paths.secrets }),
        settings: settings(),
      }),
    ).rejects.toMatchObject({
      name: 'AccountPasswordUnknownError',
      hint: expect.stringContaining('agent-room set-password owner'),
    });
  }, 30_000);

  it('signs in with the password given, and leaves the keys made in Element alone', async () => {
    const out: string[] = [];
    expect(await runSetPassword(paths, 'owner', { read: async () => PASSWORD, out: (l) => out.push(l) })).toBe(0);
    const { logger, records } = createMemoryLogger('info');
    const result = await provision({
      homeserverUrl: hs.url,
      registrationToken: hs.registrationToken,
      stateDir: paths.state,
      secrets: new FileSecretStore({ file: paths.secrets }),
      settings: settings(),
      encrypt: true,
      logger,
    });
    expect(result.owner.userId).toBe(me.userId);
    expect(result.ownerPasswordCreated).toBe(false);
    // Your name stays yours (settings say "You" for an account the app makes).
    expect((await createClient({ baseUrl: hs.url, ...me, logger: quiet }).getProfileInfo(me.userId)).displayname).toBe(
      'Ada Lovelace',
    );
    expect(result.ownerRecoveryKeyCreated).toBe(false);
    expect(await masterKeyOf(me.userId, me.accessToken)).toBe(masterBefore);
    expect(
      records.some(
        (r) => r.msg === 'the owner account already has encryption keys made elsewhere; Agent Room leaves them alone',
      ),
    ).toBe(true);
    expect(await new FileSecretStore({ file: paths.secrets }).get(OWNER_RECOVERY_SECRET)).toBeUndefined();

    // Its bot, cross-signed, cannot be vouched for without the recovery key: said so, and no device signed in.
    const bot = result.bots[0]!;
    const { bc } = await startDevice(bot, new MemorySecretStore(), 'unused');
    await bc.ensureTrust();
    const vouched = await vouchForBots({
      ctx: { baseUrl: hs.url, secrets: new FileSecretStore({ file: paths.secrets }) },
      ownerLocalpart: settings().owner.localpart,
      stateDir: paths.state,
      owner: result.owner,
      bots: [bot],
      rendezvous: new SasRendezvous(),
    });
    expect(vouched).toMatchObject({
      verified: [],
      failed: [],
      skipped: [{ userId: bot.userId, reason: expect.stringContaining('agent-room set-recovery-key') }],
    });
  }, 60_000);

  it('uses the existing identity once its recovery key is given', async () => {
    const out: string[] = [];
    expect(await runSetRecoveryKey(paths, { read: async () => 'not a key', out: (l) => out.push(l) })).toBe(1);
    expect(out[0]).toMatch(/not a recovery key/);
    expect(
      await runSetRecoveryKey(paths, { read: async () => ` ${elementRecoveryKey} `, out: (l) => out.push(l) }),
    ).toBe(0);
    const secrets = new FileSecretStore({ file: paths.secrets });
    const again = await provision({
      homeserverUrl: hs.url,
      registrationToken: hs.registrationToken,
      stateDir: paths.state,
      secrets,
      settings: settings(),
      encrypt: true,
    });
    expect(again.ownerRecoveryKeyCreated).toBe(false);
    // A new device of the app's (as the chat window does): opens secret storage with the stored key, imports the
    // existing private keys and cross-signs itself; the identity is the one made in Element.
    const login = await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: me.userId },
      password: PASSWORD,
    });
    const { client } = await startDevice(
      { userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token },
      secrets,
      OWNER_RECOVERY_SECRET,
    );
    await importOwnerIdentity(client);
    expect((await client.getCrypto()!.getCrossSigningStatus()).privateKeysCachedLocally).toEqual({
      masterKey: true,
      selfSigningKey: true,
      userSigningKey: true,
    });
    expect(await masterKeyOf(me.userId, me.accessToken)).toBe(masterBefore);
  }, 60_000);
});
