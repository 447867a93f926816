// The owner's Matrix client: matrix-js-sdk logged in with the session the control API hands over, with Rust
// crypto so encrypted rooms read and send like any other.
import { ClientEvent, createClient, SyncState, type MatrixClient } from 'matrix-js-sdk';
import type { OwnerSession } from '../../../main/common/contract.ts';
import { establishOwnerTrust, initWindowCrypto, recoveryKeyCallbacks, type TrustResult } from './crypto.ts';

export interface StartedClient {
  client: MatrixClient;
  /** Set when encryption could not start: encrypted rooms stay unreadable and the window says why. */
  cryptoError?: Error & { hint?: string };
  /** Cross-signing and key backup for this device, settled after the first sync (rejects with what failed). */
  trust: Promise<TrustResult>;
  stop(): void;
}

export interface StartOptions {
  timeoutMs?: number;
  /** The owner's recovery key (from the control API), asked for only when secret storage is read. */
  recoveryKey?: () => Promise<string | undefined>;
  /** Tests run without the wasm crypto. */
  crypto?: boolean;
}

export class MatrixStartError extends Error {
  override readonly name = 'MatrixStartError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Creates the client, starts syncing and resolves once the first sync is in (rooms and timelines loaded). */
export async function startMatrixClient(session: OwnerSession, options: StartOptions = {}): Promise<StartedClient> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = createClient({
    baseUrl: session.homeserverUrl,
    accessToken: session.accessToken,
    userId: session.userId,
    deviceId: session.deviceId,
    timelineSupport: true,
    cryptoCallbacks: recoveryKeyCallbacks(options.recoveryKey ?? (() => Promise.resolve(undefined))),
  });
  let cryptoError: StartedClient['cryptoError'];
  if (options.crypto !== false) {
    // Before startClient: the first sync already carries encrypted events and to-device room keys.
    await initWindowCrypto(client).catch((err: unknown) => {
      cryptoError = err as Error;
    });
  }
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new MatrixStartError(
            'The homeserver did not answer the first sync in time.',
            'Check the status panel: the homeserver may still be starting.',
          ),
        ),
      timeoutMs,
    );
    const onSync = (state: SyncState, _prev: SyncState | null, data?: { error?: Error }) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (
        state === SyncState.Error &&
        data?.error &&
        /M_UNKNOWN_TOKEN/.test(String((data.error as { errcode?: string }).errcode ?? data.error.message))
      ) {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        reject(
          new MatrixStartError(
            'The homeserver refused the session token.',
            'Restart Agent Room: it issues a fresh session.',
          ),
        );
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
  // A small first sync keeps start-up fast; older messages come by scrollback. Members load lazily.
  await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: true });
  try {
    await ready;
  } catch (err) {
    client.stopClient();
    throw err;
  }
  const trust = client.getCrypto()
    ? establishOwnerTrust(client)
    : Promise.resolve({ crossSigned: false, backupVersion: null });
  // Nobody may await it (a closed window): keep an unhandled rejection out of the console.
  trust.catch(() => undefined);
  return {
    client,
    ...(cryptoError ? { cryptoError } : {}),
    trust,
    stop: () => client.stopClient(),
  };
}
