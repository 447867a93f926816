// A Matrix client with Rust crypto over a persistent store, synced once: a device of the owner's (the chat window,
// Element) or of a bot, for tests that need one beside the app's own. Secret storage opens with the recovery key
// kept in `secrets` under `recoverySecret`.
import { join } from 'node:path';
import { ClientEvent, createClient, type IStartClientOpts, type MatrixClient } from 'matrix-js-sdk';
import { initBotCrypto, type BotCrypto } from '../../main/core/crypto/bot-crypto.ts';
import { recoveryCallbacks } from '../../main/core/crypto/owner-recovery.ts';
import type { SecretStore } from '../../main/core/settings/secret-store.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, getChild: () => quiet };

export interface CryptoDevice {
  client: MatrixClient;
  bc: BotCrypto;
  stop(): Promise<void>;
}

export async function startCryptoDevice(o: {
  baseUrl: string;
  session: { userId: string; deviceId: string; accessToken: string };
  secrets: SecretStore;
  recoverySecret: string;
  /** The device's store goes in a folder of its own below this one. */
  dir: string;
  /** For cross-signing uploads that need user-interactive auth. */
  password?: string;
  fetchFn?: typeof fetch;
  /** The store's folder name below `dir` (default device-<deviceId>) and its secrets' prefix (crypto.device.<deviceId>). */
  storeName?: string;
  secretPrefix?: string;
  /** Passed to startClient (default: initialSyncLimit 1). */
  startOptions?: IStartClientOpts;
  /** Called before the client starts: attach listeners that must see the first sync. */
  beforeStart?: (client: MatrixClient) => void;
}): Promise<CryptoDevice> {
  const { session } = o;
  const client = createClient({
    baseUrl: o.baseUrl,
    ...session,
    ...(o.fetchFn ? { fetchFn: o.fetchFn } : {}),
    logger: quiet,
    cryptoCallbacks: recoveryCallbacks(o.secrets, o.recoverySecret),
  });
  const bc = await initBotCrypto(client, {
    storeDir: join(o.dir, o.storeName ?? `device-${session.deviceId}`),
    secrets: o.secrets,
    secretPrefix: o.secretPrefix ?? `crypto.device.${session.deviceId}`,
    ...(o.password ? { password: o.password } : {}),
    flushDelayMs: 20,
  });
  o.beforeStart?.(client);
  const ready = new Promise<void>((r) => client.on(ClientEvent.Sync, (s) => s === 'PREPARED' && r()));
  await client.startClient(o.startOptions ?? { initialSyncLimit: 1 });
  await ready;
  return {
    client,
    bc,
    stop: async () => {
      client.stopClient();
      await bc.close();
    },
  };
}
