// End-to-end encryption for the chat window: matrix-js-sdk's Rust crypto over the browser's IndexedDB (one store
// per owner device, so a reload keeps the device and its keys), secret storage opened with the owner's recovery key
// from the control API, then this device cross-signed with the existing keys and the key backup turned on.
import type { ICreateClientOpts, MatrixClient } from 'matrix-js-sdk';
import { decodeRecoveryKey } from 'matrix-js-sdk/lib/crypto-api/recovery-key.js';
import { ownKeysOnServer } from '../../../main/common/own-device-keys.ts';

type CryptoCallbacks = NonNullable<ICreateClientOpts['cryptoCallbacks']>;

/** Where the window's crypto store lives; the device id is in the name, so a new device never opens another's store. */
export function cryptoStorePrefix(userId: string, deviceId: string): string {
  return `agent-room:${userId}:${deviceId}`;
}

/**
 * Secret storage asks for its key here: the recovery key decoded. `getRecoveryKey` is called lazily, so the window
 * asks the control API only when a secret is actually read.
 */
export function recoveryKeyCallbacks(getRecoveryKey: () => Promise<string | undefined>): CryptoCallbacks {
  return {
    getSecretStorageKey: async ({ keys }) => {
      const keyId = Object.keys(keys)[0];
      const recoveryKey = await getRecoveryKey();
      if (keyId === undefined || recoveryKey === undefined) return null;
      return [keyId, new Uint8Array(decodeRecoveryKey(recoveryKey))];
    },
  };
}

export class CryptoStartError extends Error {
  override readonly name = 'CryptoStartError';
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Rust crypto on, before startClient. The store stays in the browser profile; a reload reopens it. */
export async function initWindowCrypto(client: MatrixClient): Promise<void> {
  const userId = client.getUserId();
  const deviceId = client.getDeviceId();
  if (!userId || !deviceId)
    throw new CryptoStartError(
      'The session has no user or device id.',
      'Restart Agent Room: it issues a fresh session.',
    );
  try {
    await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: cryptoStorePrefix(userId, deviceId) });
  } catch (err) {
    throw new CryptoStartError(
      `Encryption could not start in this window: ${(err as Error).message}`,
      "Encrypted rooms stay unreadable here. Reload the window; if it repeats, clear this site's data in the browser.",
      { cause: err },
    );
  }
}

export interface TrustResult {
  /** This device is signed by the owner's self-signing key (other devices of the app trust it). */
  crossSigned: boolean;
  /** The key backup version this device reads and writes, or null. */
  backupVersion: string | null;
}

/**
 * After the first sync: cross-signs this device with the owner's keys from secret storage (never makes new keys:
 * the provisioner made them) and turns on the key backup with its key from secret storage, so history sent before
 * this device existed can be read. Does nothing when the account has no secret storage (an unencrypted team).
 */
export async function establishOwnerTrust(
  client: MatrixClient,
  options: { keysTimeoutMs?: number } = {},
): Promise<TrustResult> {
  const crypto = client.getCrypto();
  if (!crypto) return { crossSigned: false, backupVersion: null };
  const secretStorage = client.secretStorage;
  const userId = client.getUserId() ?? '';
  const names = ['m.cross_signing.master', 'm.cross_signing.self_signing', 'm.cross_signing.user_signing'] as const;
  const stored = await Promise.all(names.map((n) => secretStorage.isStored(n)));
  if (stored.every(Boolean)) {
    // Signed only once the server holds this store's keys for the device: a signature that comes first is dropped,
    // and one over other keys than the server's would replace the valid signature of the browser that made them.
    await waitForWindowKeys(client, options.keysTimeoutMs ?? 30_000);
    // The private keys import only against the public identity, which a new device has not queried yet.
    await crypto.userHasCrossSigningKeys(userId, true);
    // bootstrapCrossSigning makes new keys (and writes them into secret storage) when one is missing or does not
    // import: only called with all three stored, and a replacement is refused.
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: async () => {
        throw new Error(
          'Refusing to replace your cross-signing keys: the ones in secret storage do not match your identity.',
        );
      },
    });
    await signThisDevice(client);
  }
  if (await secretStorage.isStored('m.megolm_backup.v1')) {
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
  }
  const check = await crypto.checkKeyBackupAndEnable();
  return { crossSigned: await ownDeviceCrossSigned(client), backupVersion: check?.backupInfo.version ?? null };
}

/**
 * Rust crypto uploads a new store's keys in the background after its first sync: waits until the server holds them, as
 * a signature uploaded first is dropped. A device id opened before by another browser (or before its site data was
 * cleared) holds that store's keys until this one's upload replaces them; a server that never replaces them leaves
 * this window unverifiable.
 */
async function waitForWindowKeys(client: MatrixClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await ownKeysOnServer(client);
    if (state === 'mine') return;
    if (Date.now() > deadline && state === 'other') {
      throw new CryptoStartError(
        "This window's device has keys from another browser on the homeserver (or from this one before its site data was cleared), so it cannot be verified here.",
        'Use the chat window in the browser where you first opened it; encrypted rooms stay trusted there.',
      );
    }
    if (Date.now() > deadline)
      throw new CryptoStartError(
        "This window's keys did not reach the homeserver in time.",
        'Reload the window; check the homeserver if it repeats.',
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Signs this device with the owner's self-signing key when the server's copy of its keys does not carry it yet. */
async function signThisDevice(client: MatrixClient): Promise<void> {
  const crypto = client.getCrypto()!;
  await crypto.getUserDeviceInfo([client.getUserId() ?? ''], true);
  if (await ownDeviceCrossSigned(client)) return;
  if (!(await crypto.getCrossSigningStatus()).privateKeysCachedLocally.selfSigningKey) return;
  await crypto.crossSignDevice(client.getDeviceId() ?? '');
  // The owner's keys changed: re-read them (for a few seconds), so this window knows at once that it is verified.
  for (let tries = 0; tries < 10; tries++) {
    await crypto.getUserDeviceInfo([client.getUserId() ?? ''], true);
    if (await ownDeviceCrossSigned(client)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  // Synapse keeps the signature it stored for the keys this device id had before (another browser opened the window
  // first) and does not take a second one from the same key: this window stays unverified. Say so, not nothing.
  throw new CryptoStartError(
    "The homeserver kept the signature of this device's earlier keys (the window was opened in another browser first), so this window cannot be verified.",
    'Use the chat window in the browser where you first opened it; encrypted rooms stay trusted there.',
  );
}

/**
 * Whether this device carries the owner's self-signing signature, as this device knows it: right after signing, that
 * is only known once the next sync reports the owner's keys changed and they are queried again (DevicesUpdated).
 */
export async function ownDeviceCrossSigned(client: MatrixClient): Promise<boolean> {
  const crypto = client.getCrypto();
  if (!crypto) return false;
  const status = await crypto.getDeviceVerificationStatus(client.getUserId() ?? '', client.getDeviceId() ?? '');
  return status?.crossSigningVerified ?? false;
}
