// The owner's Matrix client: matrix-js-sdk logged in with the session the control API hands over.
import { ClientEvent, createClient, SyncState, type MatrixClient } from 'matrix-js-sdk';
import type { OwnerSession } from '../../../main/common/contract.ts';

export interface StartedClient {
  client: MatrixClient;
  stop(): void;
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
export async function startMatrixClient(session: OwnerSession, timeoutMs = 30_000): Promise<StartedClient> {
  const client = createClient({
    baseUrl: session.homeserverUrl,
    accessToken: session.accessToken,
    userId: session.userId,
    deviceId: session.deviceId,
    timelineSupport: true,
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new MatrixStartError('The homeserver did not answer the first sync in time.', 'Check the status panel: the homeserver may still be starting.')),
      timeoutMs,
    );
    const onSync = (state: SyncState, _prev: SyncState | null, data?: { error?: Error }) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error && data?.error && /M_UNKNOWN_TOKEN/.test(String((data.error as { errcode?: string }).errcode ?? data.error.message))) {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        reject(new MatrixStartError('The homeserver refused the session token.', 'Restart Agent Room: it issues a fresh session.'));
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
  return {
    client,
    stop: () => client.stopClient(),
  };
}
