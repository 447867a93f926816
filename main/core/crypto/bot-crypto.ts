// End-to-end encryption for one Matrix client in Node (a bot, or the owner's provisioning client): matrix-js-sdk's
// Rust crypto over a persistent store, the store key and backup key kept in the app's secret store, cross-signing
// with the account password, and server-side key backup on by default.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { MatrixClient } from 'matrix-js-sdk';
import type { CryptoApi } from 'matrix-js-sdk/lib/crypto-api/index.js';
import type { SecretStore } from '../settings/secret-store.ts';
import { PersistentCryptoStore, type StoreLogger } from './crypto-store.ts';
import { CryptoSetupError } from './errors.ts';

export interface BotCryptoOptions {
  /** This client's own folder, e.g. <data>/state/crypto/<bot id>; holds crypto-store.bin. */
  storeDir: string;
  secrets: SecretStore;
  /** Names this client's secrets: `<secretPrefix>.storeKey`, `<secretPrefix>.backupKey`. e.g. "crypto.bot.mistral" */
  secretPrefix: string;
  /** The account password, for the user-interactive auth that replacing cross-signing keys needs. */
  password?: string;
  logger?: StoreLogger & { info(obj: object, msg?: string): void };
  flushDelayMs?: number;
}

export interface BotCrypto {
  readonly store: PersistentCryptoStore;
  readonly crypto: CryptoApi;
  /** Cross-signing for this account (this device signed) and a trusted key backup; idempotent, call after the first sync. */
  ensureTrust(): Promise<{ backupVersion: string | null }>;
  /** Writes the store now (the runner may call it before a planned stop). */
  flush(): Promise<void>;
  /** After client.stopClient(): the last write of the store. */
  close(): Promise<void>;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

async function storeKeyFor(secrets: SecretStore, name: string): Promise<Uint8Array> {
  const existing = await secrets.get(name);
  if (existing !== undefined) {
    const key = unb64(existing);
    if (key.length === 32) return key;
    throw new CryptoSetupError(
      `The crypto store key "${name}" in the secret store is not 32 bytes.`,
      'Delete the secret and the matching <data>/state/crypto folder; the bot then starts a new device.',
    );
  }
  const key = new Uint8Array(randomBytes(32));
  await secrets.set(name, b64(key));
  return key;
}

/**
 * Turns on Rust crypto for `client` (created with its deviceId, not started yet). Call before startClient().
 * A restart with the same storeDir, secrets and device id keeps the device, its identity keys and its sessions.
 */
export async function initBotCrypto(client: MatrixClient, opts: BotCryptoOptions): Promise<BotCrypto> {
  const storageKey = await storeKeyFor(opts.secrets, `${opts.secretPrefix}.storeKey`);
  const store = await PersistentCryptoStore.open({
    file: join(opts.storeDir, 'crypto-store.bin'),
    flushDelayMs: opts.flushDelayMs,
    logger: opts.logger,
  });
  try {
    await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: store.prefix, storageKey });
  } catch (err) {
    await store.close();
    throw new CryptoSetupError(
      `Encryption could not start for ${client.getUserId() ?? '?'} (device ${client.getDeviceId() ?? '?'}): ${(err as Error).message}`,
      'If the account was given a new device, delete its folder under <data>/state/crypto so a new store is made for it.',
      { cause: err },
    );
  }
  const crypto = client.getCrypto();
  if (!crypto)
    throw new CryptoSetupError(
      'matrix-js-sdk started no crypto backend.',
      'Check that the client was created with a userId and deviceId.',
    );
  // The runner replies from a bot; a reply must not be refused because a person's new device is unverified.
  crypto.globalBlacklistUnverifiedDevices = false;

  const backupKeyName = `${opts.secretPrefix}.backupKey`;
  const ensureTrust = async (): Promise<{ backupVersion: string | null }> => {
    const password = opts.password;
    await crypto.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: async (makeRequest) => {
        if (password === undefined)
          throw new CryptoSetupError(
            'Cross-signing keys must be replaced and no account password was given.',
            'Pass the account password from the secret store to initBotCrypto.',
          );
        await makeRequest({
          type: 'm.login.password',
          identifier: { type: 'm.id.user', user: client.getUserId() ?? '' },
          password,
        });
      },
    });
    return { backupVersion: await ensureKeyBackup(crypto, opts.secrets, backupKeyName, opts.logger) };
  };

  return { store, crypto, ensureTrust, flush: () => store.flush(), close: () => store.close() };
}

/**
 * Key backup on: use the server's current backup when we hold its key (from this store or the secret store),
 * otherwise make a new one and keep its key in the secret store, so a new device of this account can read it.
 */
export async function ensureKeyBackup(
  crypto: CryptoApi,
  secrets: SecretStore,
  keyName: string,
  logger?: BotCryptoOptions['logger'],
): Promise<string | null> {
  let check = await crypto.checkKeyBackupAndEnable();
  if (check && !check.trustInfo.matchesDecryptionKey) {
    const saved = await secrets.get(keyName);
    if (saved !== undefined && check.backupInfo.version) {
      await crypto.storeSessionBackupPrivateKey(unb64(saved), check.backupInfo.version);
      check = await crypto.checkKeyBackupAndEnable();
    }
  }
  if (!check || !check.trustInfo.matchesDecryptionKey) {
    logger?.info({ replaced: check?.backupInfo.version ?? null }, 'creating a new key backup');
    await crypto.resetKeyBackup();
  }
  const key = await crypto.getSessionBackupPrivateKey();
  if (key) await secrets.set(keyName, b64(key));
  return crypto.getActiveSessionBackupVersion();
}
