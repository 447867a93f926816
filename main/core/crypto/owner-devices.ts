// The owner's own devices signed by the owner's self-signing key. Element warns "You have unverified sessions" (and
// shields every encrypted room) about any device of yours with keys that this key has not signed, so each device the
// app keeps or makes for the owner (the chat window's session, the short-lived key devices) is signed while the app
// holds the key. Only devices the app made are ever signed: vouching for a device nobody checked would let anyone
// who got a session of yours read your encrypted rooms.
import type { MatrixClient } from 'matrix-js-sdk';
import { ownKeysOnServer, type OwnKeysState } from '../../common/own-device-keys.ts';
import { pollUntil } from '../async.ts';
import { CryptoSetupError } from './errors.ts';
import { hasValidSignature, type SignedJson } from './signed-json.ts';

/** The part of a /keys/query answer about the owner's devices. */
export interface OwnerDevicesAnswer {
  device_keys?: Record<string, Record<string, SignedJson>>;
  self_signing_keys?: Record<string, SignedJson>;
}

export interface OwnerDevicePlan {
  /** Keys on the server without a valid signature of the owner's self-signing key. */
  unsigned: string[];
  /** Signed already. */
  signed: string[];
  /** No keys on the server (a session used only for API calls until the chat window sets up its crypto): nothing to sign. */
  noKeys: string[];
}

/** Pure: which of `deviceIds` need the owner's signature. Without a self-signing key every device with keys is unsigned. */
export function planOwnerDevices(
  answer: OwnerDevicesAnswer,
  ownerUserId: string,
  deviceIds: readonly string[],
): OwnerDevicePlan {
  const plan: OwnerDevicePlan = { unsigned: [], signed: [], noKeys: [] };
  const ssk = Object.values(answer.self_signing_keys?.[ownerUserId]?.keys ?? {})[0];
  for (const id of new Set(deviceIds)) {
    const keys = answer.device_keys?.[ownerUserId]?.[id];
    if (!keys) plan.noKeys.push(id);
    else if (ssk !== undefined && hasValidSignature(keys, ownerUserId, `ed25519:${ssk}`, ssk)) plan.signed.push(id);
    else plan.unsigned.push(id);
  }
  return plan;
}

/**
 * Rust crypto uploads a new store's keys in the background after its first sync, and Synapse drops (with a 200) a
 * signature uploaded before them; signing this store's keys while the server holds another store's for the same
 * device id would replace the valid signature there. Waits until the server holds this store's keys.
 */
export async function waitForOwnDeviceKeys(client: MatrixClient, timeoutMs = 30_000): Promise<void> {
  const device = `device ${client.getDeviceId() ?? '?'} of ${client.getUserId() ?? '?'}`;
  let state: OwnKeysState;
  await pollUntil(
    async () => (state = await ownKeysOnServer(client)) === 'mine',
    { timeoutMs, intervalMs: 200 },
    () =>
      state === 'other'
        ? new CryptoSetupError(
            `The homeserver holds other keys for ${device}.`,
            'Another store already set up this device; sign in a new device instead of reusing its id.',
          )
        : new CryptoSetupError(
            `The keys of ${device} never reached the homeserver.`,
            'Check the homeserver log for refused key uploads.',
          ),
  );
}

/** The owner's keys as the homeserver answers a key query (the SDK's type names only the fields it reads). */
async function ownerKeys(client: MatrixClient, userId: string): Promise<OwnerDevicesAnswer> {
  return (await client.downloadKeysForUsers([userId])) as unknown as OwnerDevicesAnswer;
}

/**
 * In a device of the owner's whose crypto holds the self-signing key: signs this device and `deviceIds` (devices the
 * app made) where their keys on the server lack a valid signature. Devices without keys are left for later. Returns
 * the ids signed now; throws when a signature did not stick.
 */
export async function signOwnerDevices(client: MatrixClient, deviceIds: readonly string[] = []): Promise<string[]> {
  const crypto = client.getCrypto();
  if (!crypto) throw new CryptoSetupError('The owner client has no crypto.', 'Call initBotCrypto on it first.');
  const userId = client.getUserId() ?? '';
  await waitForOwnDeviceKeys(client);
  const wanted = [client.getDeviceId() ?? '', ...deviceIds].filter((id) => id !== '');
  const { unsigned } = planOwnerDevices(await ownerKeys(client, userId), userId, wanted);
  if (unsigned.length === 0) return [];
  if (!(await crypto.getCrossSigningStatus()).privateKeysCachedLocally.selfSigningKey) {
    throw new CryptoSetupError(
      "This device does not hold the owner's self-signing key.",
      "Import the owner's identity from secret storage first (importOwnerIdentity).",
    );
  }
  // Rust crypto signs the keys as it knows them: the server's, downloaded now.
  await crypto.getUserDeviceInfo([userId], true);
  for (const id of unsigned) await crypto.crossSignDevice(id);
  const still = planOwnerDevices(await ownerKeys(client, userId), userId, unsigned).unsigned;
  if (still.length > 0)
    throw new CryptoSetupError(
      `The homeserver did not keep the owner's signature on device ${still.join(', ')}.`,
      'The next start tries again.',
    );
  return unsigned;
}
