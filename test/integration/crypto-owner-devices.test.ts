// Every device the app keeps or makes for the owner is signed by the owner's self-signing key, as a person's new
// device sees it: Element Web (Rust crypto) signs in with the password, opens secret storage with the recovery key,
// and warns "You have unverified sessions" about any other device of the owner with keys that key has not signed.
// Covered: the chat window's device (the owner session) set up before the app held the recovery key, a second
// browser opening the window on the same device, and the short-lived key devices the app signs in to vouch for bots.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'matrix-js-sdk';
import type { Settings } from '../../main/common/settings-schema.ts';
import { importOwnerIdentity, saveRecoveryKey } from '../../main/core/crypto/owner-recovery.ts';
import {
  OWNER_KEYS_DEVICE,
  OWNER_RECOVERY_SECRET,
  withOwnerKeysDevice,
} from '../../main/core/provisioning/encryption.ts';
import { vouchForBots, type VouchOptions } from '../../main/core/provisioning/owner-trust.ts';
import { type ProvisionResult } from '../../main/core/provisioning/provisioner.ts';
import type { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { establishOwnerTrust } from '../../renderer/src/matrix/crypto.ts';
import { startCryptoDevice, type CryptoDevice } from '../support/crypto-device.ts';
import { hasValidSignature } from '../../main/core/crypto/signed-json.ts';
import { publicKeyOf } from '../support/homeserver/encryption-signatures.ts';
import type { Json } from '../support/homeserver/encryption-state.ts';
import type { MatrixTarget } from '../support/matrix-target.ts';
import { startVouchTeam, type VouchTeam } from '../support/vouch-team.ts';
import { quiet } from '../support/bots-harness.ts';

let hs: MatrixTarget;
let dir: string;
let result: ProvisionResult;
let settings: Settings;
let team: VouchTeam;
let secrets: MemorySecretStore;
const cleanups: Array<() => Promise<void> | void> = [];

const vouchOptions = (): VouchOptions => team.vouchOptions();

/** The chat window's crypto on the owner session's device, over the store of one browser profile. */
async function windowDevice(profile: string): Promise<CryptoDevice> {
  const device = await startCryptoDevice({
    baseUrl: hs.url,
    session: result.owner,
    secrets,
    recoverySecret: OWNER_RECOVERY_SECRET,
    dir: join(dir, profile),
  });
  cleanups.push(device.stop);
  return device;
}

/** Element Web signing in: password login, Rust crypto, the cross-signing keys imported from secret storage. */
async function elementDevice(): Promise<CryptoDevice> {
  const password = (await secrets.get('matrix.owner.password'))!;
  const login = await createClient({ baseUrl: hs.url, logger: quiet }).loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: settings.owner.localpart },
    password,
    initial_device_display_name: 'Element Web',
  });
  const device = await startCryptoDevice({
    baseUrl: hs.url,
    session: { userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token },
    secrets,
    recoverySecret: OWNER_RECOVERY_SECRET,
    dir: join(dir, 'element'),
  });
  cleanups.push(device.stop);
  await importOwnerIdentity(device.client);
  return device;
}

interface OwnerDeviceView {
  /** Every other device of the owner that has keys. */
  others: string[];
  /** Those whose keys on the server carry no valid signature of the owner's self-signing key. */
  unsignedOnServer: string[];
  /** Those Element's crypto does not count as cross-signing verified (its "unverified sessions" toast). */
  unverifiedInElement: string[];
}

/** What Element sees of the owner's other devices: the key query as the homeserver answers it, and its own verdict. */
async function ownerDevicesAsElementSees(element: CryptoDevice): Promise<OwnerDeviceView> {
  const owner = result.owner.userId;
  const me = element.client.getDeviceId()!;
  const res = await fetch(`${hs.url}/_matrix/client/v3/keys/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${element.client.getAccessToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ device_keys: { [owner]: [] } }),
  });
  expect(res.status).toBe(200);
  const answer = (await res.json()) as {
    device_keys: Record<string, Record<string, Json>>;
    self_signing_keys: Record<string, Json>;
  };
  const ssk = publicKeyOf(answer.self_signing_keys[owner])!;
  const others = Object.keys(answer.device_keys[owner] ?? {})
    .filter((id) => id !== me)
    .sort();
  const unsignedOnServer = others.filter(
    (id) => !hasValidSignature(answer.device_keys[owner]![id]!, owner, `ed25519:${ssk}`, ssk),
  );
  const crypto = element.client.getCrypto()!;
  // Element learns of a device's new signature from its next sync's device-list change (on Synapse that can come a
  // moment after the upload): what is signed on the server is read again until Element shows it, as a person would
  // see it, for at most 10 s.
  const unverified = async (): Promise<string[]> => {
    await crypto.getUserDeviceInfo([owner], true);
    const out: string[] = [];
    for (const id of others)
      if ((await crypto.getDeviceVerificationStatus(owner, id))?.crossSigningVerified !== true) out.push(id);
    return out;
  };
  let unverifiedInElement = await unverified();
  for (const end = Date.now() + 10_000; Date.now() < end;) {
    if (unverifiedInElement.every((id) => unsignedOnServer.includes(id))) break;
    await new Promise((r) => setTimeout(r, 250));
    unverifiedInElement = await unverified();
  }
  return { others, unsignedOnServer, unverifiedInElement };
}

beforeAll(async () => {
  team = await startVouchTeam({
    serverName: 'devices.local',
    registrationToken: 'devices-registration-token',
    bots: ['alpha'],
  });
  ({ hs, dir, result, settings, secrets } = team);
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await team?.close();
});

describe('every device of the owner is verified', () => {
  let element: CryptoDevice;

  it('the window set up before the app held the recovery key is signed once the key is given', async () => {
    // Your own account, its encryption made in Element: the window opens while the app cannot read secret storage.
    const recoveryKey = (await secrets.get(OWNER_RECOVERY_SECRET))!;
    await secrets.delete(OWNER_RECOVERY_SECRET);
    const window = await windowDevice('browser-1');
    await expect(establishOwnerTrust(window.client)).rejects.toThrow();

    // The key is given (Settings → Encryption, or set-recovery-key): the owner vouches again, for its own devices too.
    await saveRecoveryKey(secrets, OWNER_RECOVERY_SECRET, recoveryKey);
    const vouched = await vouchForBots(vouchOptions());
    expect(vouched.verified).toEqual([result.bots[0]!.userId]);
    expect(vouched.ownerDevices).toEqual([result.owner.deviceId]);

    element = await elementDevice();
    const seen = await ownerDevicesAsElementSees(element);
    expect(seen.others).toEqual([result.owner.deviceId]);
    expect(seen.unsignedOnServer).toEqual([]);
    expect(seen.unverifiedInElement).toEqual([]);
    // The key devices that did the work are signed out: nothing else of the owner's is left.
    const devices = await element.client.getDevices();
    expect(devices.devices.map((d) => d.device_id).filter((id) => id.startsWith(OWNER_KEYS_DEVICE))).toEqual([]);
  }, 120_000);

  it('a key device is signed while it works, and signed out after', async () => {
    const keyDevice = await withOwnerKeysDevice(
      {
        ctx: { baseUrl: hs.url, secrets },
        ownerLocalpart: settings.owner.localpart,
        stateDir: join(dir, 'state'),
        roomId: result.roomId,
      },
      async ({ client }) => {
        await importOwnerIdentity(client);
        const seen = await ownerDevicesAsElementSees(element);
        return { id: client.getDeviceId()!, seen };
      },
    );
    expect(keyDevice.seen.others).toContain(keyDevice.id);
    expect(keyDevice.seen.unsignedOnServer).toEqual([]);
    expect(keyDevice.seen.unverifiedInElement).toEqual([]);
    const after = await ownerDevicesAsElementSees(element);
    expect(after.others).toEqual([result.owner.deviceId]);
    expect(after.unverifiedInElement).toEqual([]);
  }, 60_000);
  it('a second browser opening the window on the same device: signed, or told why it cannot be', async () => {
    // The same device id over a new store: the server ends up with one of the two stores' keys, and those are signed.
    const window = await windowDevice('browser-2');
    const own = (await window.client.getCrypto()!.getOwnDeviceKeys()).ed25519;
    const trust = await establishOwnerTrust(window.client, { keysTimeoutMs: 5000 }).then(
      (t) => t,
      (err: Error) => err,
    );
    const onServer = (await window.client.downloadKeysForUsers([result.owner.userId])).device_keys?.[
      result.owner.userId
    ]?.[result.owner.deviceId];
    const seen = await ownerDevicesAsElementSees(element);
    expect(seen.others).toEqual([result.owner.deviceId]);
    if (onServer?.keys[`ed25519:${result.owner.deviceId}`] !== own) {
      // The server kept the first browser's keys (and their signature): this window says it cannot be verified.
      expect((trust as Error).message).toMatch(/another browser/);
      expect(seen.unverifiedInElement).toEqual([]);
    } else if (trust instanceof Error) {
      // Synapse: the new keys replaced the old, but the old keys' signature stays and a new one is not taken. The
      // window says so (never a silent "not verified"); a device per browser would avoid it (see the note on #14).
      expect(trust.message).toMatch(/kept the signature of this device's earlier keys/);
      expect(seen.unsignedOnServer).toEqual([result.owner.deviceId]);
    } else {
      expect(trust).toEqual({ crossSigned: true, backupVersion: expect.any(String) });
      expect(seen.unsignedOnServer).toEqual([]);
      expect(seen.unverifiedInElement).toEqual([]);
    }
  }, 60_000);
});
