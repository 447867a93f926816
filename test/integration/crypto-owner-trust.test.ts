// The app's own accounts trust each other: after provisioning an encrypted team and starting the bot runner, the
// owner's short-lived key device verifies each bot by SAS through the in-process rendezvous, Rust crypto signs the
// bot's master key with the owner's user-signing key, and a new owner device that opens secret storage with the
// recovery key (as the chat window and Element do) sees the bots and their devices as verified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'matrix-js-sdk';
import type { Settings } from '../../main/common/settings-schema.ts';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import { importOwnerIdentity } from '../../main/core/crypto/owner-recovery.ts';
import { SasRendezvous, verifyBotDevice } from '../../main/core/crypto/verification.ts';
import { OWNER_KEYS_DEVICE, OWNER_RECOVERY_SECRET } from '../../main/core/provisioning/encryption.ts';
import { planVouches, vouchForBots, type VouchOptions } from '../../main/core/provisioning/owner-trust.ts';
import { type ProvisionResult } from '../../main/core/provisioning/provisioner.ts';
import type { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startCryptoDevice, type CryptoDevice } from '../support/crypto-device.ts';
import type { MatrixTarget } from '../support/matrix-target.ts';
import { startVouchTeam, type VouchTeam } from '../support/vouch-team.ts';
import { quiet } from '../support/bots-harness.ts';

const TOKEN = 'trust-registration-token';
let hs: MatrixTarget;
let dir: string;
let result: ProvisionResult;
let runner: BotRunner;
let settings: Settings;
let team: VouchTeam;
let secrets: MemorySecretStore;
const cleanups: Array<() => Promise<void> | void> = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function api(method: string, path: string, token: string, body?: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${hs.url}/_matrix/client/v3${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const vouchOptions = (): VouchOptions => team.vouchOptions();

/** A new device of the owner's, set up as the chat window does: secret storage opened with the recovery key. */
async function newOwnerDevice(): Promise<CryptoDevice> {
  const password = (await secrets.get('matrix.owner.password'))!;
  const login = await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: settings.owner.localpart },
    password,
  });
  const device = await startCryptoDevice({
    baseUrl: hs.url,
    session: { userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token },
    secrets,
    recoverySecret: OWNER_RECOVERY_SECRET,
    dir,
  });
  cleanups.push(device.stop);
  await importOwnerIdentity(device.client);
  return device;
}

beforeAll(async () => {
  team = await startVouchTeam({ serverName: 'trust.local', registrationToken: TOKEN, bots: ['alpha', 'beta'] });
  ({ hs, dir, result, runner, settings, secrets } = team);
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await team?.close();
});

describe('the owner vouches for the bots', () => {
  it("verifies each bot by SAS and signs its master key with the owner's user-signing key", async () => {
    const before = await api('POST', '/keys/query', result.owner.accessToken, {
      device_keys: Object.fromEntries([result.owner.userId, ...result.bots.map((b) => b.userId)].map((u) => [u, []])),
    });
    expect(planVouches(before, result.owner.userId, result.bots).todo.map((b) => b.id)).toEqual([
      `alpha${hs.suffix}`,
      `beta${hs.suffix}`,
    ]);

    const vouched = await vouchForBots(vouchOptions());
    expect(vouched).toEqual({
      verified: result.bots.map((b) => b.userId),
      already: [],
      skipped: [],
      failed: [],
      ownerDevices: [],
    });

    // On the server, as the owner sees it: each bot's master key carries the owner's user-signing signature.
    const after = await api('POST', '/keys/query', result.owner.accessToken, {
      device_keys: Object.fromEntries([result.owner.userId, ...result.bots.map((b) => b.userId)].map((u) => [u, []])),
    });
    expect(planVouches(after, result.owner.userId, result.bots).todo).toEqual([]);
    const usk = Object.keys(after.user_signing_keys[result.owner.userId].keys)[0]!;
    for (const b of result.bots)
      expect(Object.keys(after.master_keys[b.userId].signatures[result.owner.userId])).toEqual([usk]);
    // Another user (a bot) does not see the owner's signatures of other people's keys.
    const alpha = result.bots[0]!;
    const asBot = await api('POST', '/keys/query', alpha.accessToken, {
      device_keys: { [result.bots[1]!.userId]: [] },
    });
    expect(asBot.master_keys[result.bots[1]!.userId].signatures[result.owner.userId]).toBeUndefined();
    // The key device is gone again: the owner's device list is the provisioning session alone.
    const devices = (await api('GET', '/devices', result.owner.accessToken)).devices as Array<{ device_id: string }>;
    expect(devices.map((d) => d.device_id)).toEqual([result.owner.deviceId]);
  }, 60_000);

  it('a new owner device (the chat window, Element) trusts the bots and their devices', async () => {
    const { client } = await newOwnerDevice();
    const crypto = client.getCrypto()!;
    for (const b of result.bots) {
      expect((await crypto.getUserVerificationStatus(b.userId)).isCrossSigningVerified()).toBe(true);
      await crypto.getUserDeviceInfo([b.userId], true);
      expect((await crypto.getDeviceVerificationStatus(b.userId, b.deviceId))?.crossSigningVerified).toBe(true);
    }
  }, 60_000);

  it('does nothing the second time: no key device is signed in', async () => {
    const seen: string[] = [];
    const fetchFn: typeof fetch = (input, init) => {
      seen.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    const again = await vouchForBots({ ...vouchOptions(), ctx: { baseUrl: hs.url, secrets, fetchFn } });
    expect(again).toEqual({
      verified: [],
      already: result.bots.map((b) => b.userId),
      skipped: [],
      failed: [],
      ownerDevices: [],
    });
    expect(seen.map((u) => new URL(u).pathname)).toEqual(['/_matrix/client/v3/keys/query']);
  });

  it('a bot confirms nothing it was not told to expect', async () => {
    // Another device of the owner's (a person in Element, say) asks a bot to verify: the bot does not answer it.
    const { client } = await newOwnerDevice();
    const beta = result.bots[1]!;
    const unannounced = new SasRendezvous(); // not the runner's: the bot never hears of this verification
    await expect(
      verifyBotDevice(client.getCrypto()!, beta.userId, beta.deviceId, {
        rendezvous: unannounced,
        ownerUserId: client.getUserId()!,
        ownerDeviceId: client.getDeviceId()!,
        timeoutMs: 1500,
      }),
    ).rejects.toThrow(/did not answer/);
  }, 30_000);

  it('deletes a key device left by a crash before signing in another', async () => {
    const password = (await secrets.get('matrix.owner.password'))!;
    // A key device that was never signed out (the app was killed while it worked).
    await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: settings.owner.localpart },
      password,
      device_id: `${OWNER_KEYS_DEVICE}DEAD`,
    });
    // A bot whose identity changed (its keys were reset) needs the owner's signature again.
    const alpha = result.bots[0]!;
    const w = runner.workers.find((x) => x.account.id === alpha.id)!;
    await w.conn.encryption!.crypto.crypto.resetEncryption(async (makeRequest) => {
      await makeRequest({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: alpha.userId },
        password: (await secrets.get(`matrix.bot.${alpha.id}.password`))!,
      });
    });
    const redo = await vouchForBots(vouchOptions());
    expect(redo.verified).toEqual([alpha.userId]);
    const devices = (await api('GET', '/devices', result.owner.accessToken)).devices as Array<{ device_id: string }>;
    expect(devices.map((d) => d.device_id).filter((id) => id.startsWith(OWNER_KEYS_DEVICE))).toEqual([]);
  }, 60_000);
});
