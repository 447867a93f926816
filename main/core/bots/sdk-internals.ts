// Every place the bots reach past matrix-js-sdk's public API, in one file, each with why: a protected field, the
// crypto backend behind the public CryptoApi, and the casts between the SDK's event shapes and the runner's
// RawEvent. An SDK upgrade checks this file; the bots' other files use the public API only.
import type { IEvent, MatrixClient, Room } from 'matrix-js-sdk';
import type { CryptoBackend } from 'matrix-js-sdk/lib/common-crypto/CryptoBackend.js';
import type { RawEvent } from './types.ts';

/** The one method of the SDK's SyncApi used here. */
interface RoomFactory {
  createRoom(roomId: string): Room;
}

/**
 * A Room object for a room the SDK has not seen in this run, made as the sync makes them (event re-emitters,
 * thread and timeline support set up). Why: after a restart from a saved sync token the SDK holds no state
 * for quiet rooms, and the public API has no way to make one; `syncApi` is protected on MatrixClient.
 */
export function createRoomLikeSync(client: MatrixClient, roomId: string): Room {
  const factory = (client as unknown as { syncApi?: RoomFactory }).syncApi;
  if (!factory) throw new Error('The Matrix client is not syncing yet.');
  return factory.createRoom(roomId);
}

/**
 * The crypto backend (Rust crypto) behind getCrypto(). Why: encrypting one event for a room (encryptEvent, the
 * step sendEvent runs before its PUT) and telling it a room's encryption state (onCryptoEvent) are not on the
 * public CryptoApi, and the bots send with their own PUT (their own transaction ids, no local echo).
 */
export function cryptoBackend(client: MatrixClient): CryptoBackend {
  const crypto = client.getCrypto();
  if (!crypto) throw new Error('End-to-end encryption is not started for this client.');
  return crypto as unknown as CryptoBackend;
}

/**
 * An event as the SDK holds or returns it (IEvent, a /messages chunk, a decrypted clear event) as the runner's
 * RawEvent. Why a cast: the SDK types every field optional and content loosely; what comes from a homeserver
 * has the fields RawEvent names.
 */
export function asRawEvent(event: Partial<IEvent> | Record<string, unknown>): RawEvent {
  return event as unknown as RawEvent;
}

export function asRawEvents(events: ReadonlyArray<Partial<IEvent>>): RawEvent[] {
  return events as unknown as RawEvent[];
}

/** A RawEvent as the SDK's event mapper takes it (the reverse of asRawEvent). */
export function asSdkEvent(raw: RawEvent): Partial<IEvent> {
  return raw as unknown as Partial<IEvent>;
}
