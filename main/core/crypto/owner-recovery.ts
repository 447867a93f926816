// The owner's account: cross-signing, secret storage under a recovery key (shown once to the person and kept in
// the app's secret store) and key backup, so any new device of the owner (the chat window, Element) can read history.
import type { ICreateClientOpts, MatrixClient } from 'matrix-js-sdk';
import { setKeepingPrevious, type SecretStore } from '../settings/secret-store.ts';
import { decodeRecoveryKey } from 'matrix-js-sdk/lib/crypto-api/recovery-key.js';
import { CryptoSetupError } from './errors.ts';
import { signOwnerDevices, waitForOwnDeviceKeys } from './owner-devices.ts';

type CryptoCallbacks = NonNullable<ICreateClientOpts['cryptoCallbacks']>;

/**
 * Pass as createClient's `cryptoCallbacks` for the owner's client: secret storage asks for its key here, and the
 * key made by bootstrapSecretStorage is answered from memory until it is saved.
 */
export function recoveryCallbacks(secrets: SecretStore, secretName: string): CryptoCallbacks {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  return {
    getSecretStorageKey: async ({ keys }) => {
      for (const keyId of Object.keys(keys)) {
        const cached = cache.get(keyId);
        if (cached) return [keyId, cached];
      }
      const saved = await secrets.get(secretName);
      const first = Object.keys(keys)[0];
      if (saved === undefined || first === undefined) return null;
      return [first, new Uint8Array(decodeRecoveryKey(saved))];
    },
    cacheSecretStorageKey: (keyId, _info, key) => {
      cache.set(keyId, new Uint8Array(key));
    },
  };
}

export interface OwnerRecovery {
  /** The recovery key (Base58, in groups of four). */
  recoveryKey: string;
  /** True when made now: the app shows it to the person this once. */
  created: boolean;
}

/** Idempotent: reuses the saved recovery key when secret storage already exists. Needs initRustCrypto first. */
export async function setupOwnerRecovery(
  client: MatrixClient,
  opts: { password: string; secrets: SecretStore; secretName: string },
): Promise<OwnerRecovery> {
  const crypto = client.getCrypto();
  if (!crypto)
    throw new CryptoSetupError(
      'The owner client has no crypto.',
      'Call initBotCrypto on it before setupOwnerRecovery.',
    );
  let created: string | undefined;
  await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
      await makeRequest({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: client.getUserId() ?? '' },
        password: opts.password,
      });
    },
  });
  const saved = await opts.secrets.get(opts.secretName);
  const ready = saved !== undefined && (await crypto.isSecretStorageReady());
  await crypto.bootstrapSecretStorage({
    setupNewSecretStorage: !ready,
    setupNewKeyBackup: !ready,
    createSecretStorageKey: async () => {
      const key = await crypto.createRecoveryKeyFromPassphrase();
      if (!key.encodedPrivateKey)
        throw new CryptoSetupError('No recovery key was generated.', 'Try again; report it if it repeats.');
      created = key.encodedPrivateKey;
      // Saved before anything is encrypted with it, so a crash cannot leave secret storage nobody can open.
      await opts.secrets.set(opts.secretName, created);
      return key;
    },
  });
  await crypto.checkKeyBackupAndEnable();
  const recoveryKey = created ?? (await opts.secrets.get(opts.secretName));
  if (recoveryKey === undefined)
    throw new CryptoSetupError(
      'Secret storage exists but its recovery key is not in the secret store.',
      'Enter the recovery key shown at setup, or reset encryption for the owner.',
    );
  return { recoveryKey, created: created !== undefined };
}

const CROSS_SIGNING_SECRETS = [
  'm.cross_signing.master',
  'm.cross_signing.self_signing',
  'm.cross_signing.user_signing',
] as const;

/**
 * A new device of the owner's takes the owner's existing identity: the three private keys from secret storage,
 * then this device signed (checked on the server: Element counts any unsigned device of yours as a risk). Never makes
 * new keys: the SDK would replace the identity (and write new keys into the person's secret storage) when one of
 * them is missing, so all three must be there, and a replacement is refused.
 */
export async function importOwnerIdentity(client: MatrixClient): Promise<void> {
  const crypto = client.getCrypto();
  if (!crypto) throw new CryptoSetupError('The owner client has no crypto.', 'Call initBotCrypto on it first.');
  for (const name of CROSS_SIGNING_SECRETS) {
    if (!(await client.secretStorage.isStored(name))) {
      throw new CryptoSetupError(
        `The owner's secret storage holds no ${name} key.`,
        'Set up encryption for this account in Element (or give Agent Room its recovery key); the app does not replace keys.',
      );
    }
  }
  // The import signs this device: only once its keys are on the server, which drops a signature that comes first.
  await waitForOwnDeviceKeys(client);
  // A new device knows the owner's identity only once queried; the private keys import against it.
  await crypto.userHasCrossSigningKeys(client.getUserId() ?? '', true);
  await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async () => {
      throw new CryptoSetupError(
        "Refusing to replace the owner's cross-signing keys.",
        'The keys in secret storage did not match the published identity; check the recovery key.',
      );
    },
  });
  await signOwnerDevices(client);
}

/**
 * Saves a recovery key the person gives (their account's encryption was set up elsewhere): checked to be one,
 * whitespace normalised, and a different key already saved is kept under `<name>.previous`, so nothing is lost.
 */
export async function saveRecoveryKey(
  secrets: SecretStore,
  name: string,
  input: string,
): Promise<{ replaced: boolean }> {
  const key = input.replace(/\s+/g, ' ').trim();
  try {
    decodeRecoveryKey(key);
  } catch (err) {
    throw new CryptoSetupError(
      `That is not a recovery key (${(err as Error).message}).`,
      'A recovery key looks like "EsTc 1234 …": 12 groups of 4 characters, as Element showed when you set up encryption.',
    );
  }
  return { replaced: await setKeepingPrevious(secrets, name, key) };
}
