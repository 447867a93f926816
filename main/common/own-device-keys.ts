// Whether the homeserver holds the keys of this device's crypto store: shared by the app's owner devices and the chat
// window, which both sign their own device with the owner's self-signing key, and may do so only once these are there.
import type { MatrixClient } from 'matrix-js-sdk';

/** `mine`: this store's keys; `other`: another store uploaded keys for this device id; undefined: none yet. */
export type OwnKeysState = 'mine' | 'other' | undefined;

export async function ownKeysOnServer(client: MatrixClient): Promise<OwnKeysState> {
  const crypto = client.getCrypto();
  const userId = client.getUserId() ?? '';
  const deviceId = client.getDeviceId() ?? '';
  if (!crypto) return undefined;
  const own = (await crypto.getOwnDeviceKeys()).ed25519;
  const onServer = (await client.downloadKeysForUsers([userId])).device_keys?.[userId]?.[deviceId]?.keys?.[
    `ed25519:${deviceId}`
  ];
  return onServer === undefined ? undefined : onServer === own ? 'mine' : 'other';
}
