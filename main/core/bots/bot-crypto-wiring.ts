// End-to-end encryption for one bot connection: the crypto module's persistent Rust crypto, readable (decrypted)
// events for the runner, encryption of what the bot sends in encrypted rooms, and the decryption-failure watcher.
// Unencrypted rooms keep the plain path: nothing here runs for them beyond one state lookup per room.
import { MatrixEvent, type MatrixClient } from 'matrix-js-sdk';
import { initBotCrypto, type BotCrypto } from '../crypto/bot-crypto.ts';
import {
  inviteWithHistory,
  pickInviter,
  type HistoryInviteOutcome,
  type HistoryInviter,
} from '../crypto/history-share.ts';
import { readableEvent, watchDecryptionFailures, type DecryptionWatcher } from '../crypto/decryption-watcher.ts';
import { acceptOwnerVerifications, type SasRendezvous } from '../crypto/verification.ts';
import type { Logger } from '../logging/logger.ts';
import type { SecretStore } from '../settings/secret-store.ts';
import { asRawEvent, asSdkEvent, createRoomLikeSync, cryptoBackend } from './sdk-internals.ts';
import type { RawEvent } from './types.ts';

export interface BotEncryptionOptions {
  /** This bot's folder for its crypto store: <data>/state/crypto/<bot id>. */
  storeDir: string;
  secrets: SecretStore;
  /** e.g. "crypto.bot.mistral": names the store key and backup key secrets. */
  secretPrefix: string;
  /** The account password (cross-signing keys are replaced under user-interactive auth). */
  password?: string;
  flushDelayMs?: number;
  /** The owner's account and the rendezvous through which the app's own verifications of this bot are confirmed. */
  owner?: { userId: string; rendezvous: SasRendezvous };
}

export const ENCRYPTION_EVENT = 'm.room.encryption';

export class BotEncryption {
  readonly #client: MatrixClient;
  readonly #bc: BotCrypto;
  readonly #log: Logger | undefined;
  /** roomId → whether it is encrypted, once the SDK's room has its encryption state and encryptor. */
  readonly #rooms = new Map<string, Promise<boolean>>();
  #watcher: DecryptionWatcher | undefined;
  #trust: Promise<void> | undefined;
  readonly #stopAccepting: () => void;

  private constructor(
    client: MatrixClient,
    bc: BotCrypto,
    log: Logger | undefined,
    owner: BotEncryptionOptions['owner'],
  ) {
    this.#client = client;
    this.#bc = bc;
    this.#log = log;
    this.#stopAccepting = owner
      ? acceptOwnerVerifications(client, {
          ownerUserId: owner.userId,
          rendezvous: owner.rendezvous,
          ...(log ? { log } : {}),
        })
      : () => undefined;
  }

  /** Before startClient(): opens (or creates) the bot's crypto store and turns Rust crypto on. */
  static async init(client: MatrixClient, opts: BotEncryptionOptions, log?: Logger): Promise<BotEncryption> {
    const bc = await initBotCrypto(client, { ...opts, ...(log ? { logger: log } : {}) });
    return new BotEncryption(client, bc, log, opts.owner);
  }

  get crypto(): BotCrypto {
    return this.#bc;
  }

  /** Says once per room when a message cannot be decrypted; hands it back when its key arrives. Before startClient(). */
  watch(
    notify: (roomId: string, text: string) => Promise<unknown>,
    onRecovered: (roomId: string, event: RawEvent) => void,
  ): void {
    this.#watcher = watchDecryptionFailures(this.#client, {
      notify,
      onRecovered: (roomId, event) => {
        void readableEvent(this.#client, event).then((clear) => clear && onRecovered(roomId, asRawEvent(clear)));
      },
      logger: { warn: (obj, msg) => this.#log?.warn(obj, msg) },
    });
  }

  /** A join under way may import the room's history keys: failures there are announced only if it did not help. */
  holdNotices(roomId: string, join: Promise<unknown>): void {
    this.#watcher?.hold(roomId, join);
  }

  /** After the first sync: cross-signing and key backup (whose key lets the SDK fetch missing room keys), then a retry of failures. */
  startTrust(): Promise<void> {
    this.#trust ??= this.#bc
      .ensureTrust()
      .then(() => this.#watcher?.retry())
      .catch((err: unknown) => {
        this.#log?.warn(
          { err: (err as Error).message },
          'cross-signing or key backup could not be set up; messages still work',
        );
        // The next call tries again (a late invite, the next start).
        this.#trust = undefined;
      });
    return this.#trust;
  }

  /** After startTrust(): whether this device is cross-signed by its account's identity (others share keys with it). */
  async crossSigned(): Promise<boolean> {
    await this.startTrust();
    const status = await this.#client
      .getCrypto()
      ?.getDeviceVerificationStatus(this.#client.getUserId() ?? '', this.#client.getDeviceId() ?? '');
    return status?.crossSigningVerified ?? false;
  }

  /** The event decrypted, as the runner reads raw events; undefined when it cannot be decrypted (yet). */
  async readable(event: MatrixEvent): Promise<RawEvent | undefined> {
    const clear = await readableEvent(this.#client, event);
    return clear && asRawEvent(clear);
  }

  /** Raw events from /messages or /event, decrypted where needed; undecryptable ones dropped. Not seen by the watcher. */
  async readableRaw(events: RawEvent[]): Promise<RawEvent[]> {
    if (!events.some((e) => e.type === 'm.room.encrypted')) return events;
    const map = this.#client.getEventMapper({ preventReEmit: true });
    const out: RawEvent[] = [];
    for (const raw of events) {
      if (raw.type !== 'm.room.encrypted') out.push(raw);
      else {
        const clear = await this.readable(map(asSdkEvent(raw)));
        if (clear) out.push(clear);
      }
    }
    return out;
  }

  /**
   * An event recovered from a sync gap, as if it had come in the sync: decrypted when its key is here, otherwise
   * left to the watcher (the mapper re-emits its decryption on the client), which hands it back when the key arrives.
   */
  async readableRecovered(raw: RawEvent): Promise<RawEvent | undefined> {
    return this.readable(this.#client.getEventMapper()(asSdkEvent(raw)));
  }

  /** A room's encryption changed (an m.room.encryption state event came in): look again before the next send. */
  forget(roomId: string): void {
    this.#rooms.delete(roomId);
  }

  /** Whether the room is encrypted; when it is, the SDK's room exists with its encryptor, ready for encrypt(). */
  roomEncrypted(roomId: string): Promise<boolean> {
    let p = this.#rooms.get(roomId);
    if (!p) {
      p = this.#prepareRoom(roomId);
      p.catch(() => this.#rooms.delete(roomId));
      this.#rooms.set(roomId, p);
    }
    return p;
  }

  async #prepareRoom(roomId: string): Promise<boolean> {
    const state = await this.#client.roomState(roomId);
    const enc = state.find((e) => e.type === ENCRYPTION_EVENT && e.state_key === '');
    if (!enc) return false;
    // After a restart from a saved sync token the SDK holds no state for quiet rooms, and its sendEvent would send
    // such a room's messages in clear: the room is made here with its state, and the encryptor set up for it.
    let room = this.#client.getRoom(roomId);
    if (!room) {
      room = createRoomLikeSync(this.#client, roomId);
      this.#client.store.storeRoom(room);
    }
    const map = this.#client.getEventMapper({ preventReEmit: true });
    room.currentState.setStateEvents(state.map((e) => map(e)));
    await cryptoBackend(this.#client).onCryptoEvent(room, map(enc));
    return true;
  }

  /** Encrypts one event for the room's members (sharing the room key with their devices as needed). */
  async encrypt(
    roomId: string,
    type: string,
    content: Record<string, unknown>,
  ): Promise<{ type: string; content: Record<string, unknown> }> {
    const room = this.#client.getRoom(roomId);
    if (!room) throw new Error(`The room ${roomId} is not prepared for encryption.`);
    const event = new MatrixEvent({
      type,
      content,
      room_id: roomId,
      sender: this.#client.getUserId() ?? undefined,
      event_id: `~${roomId}:${Date.now()}`,
    });
    await cryptoBackend(this.#client).encryptEvent(event, room);
    return { type: event.getWireType(), content: event.getWireContent() };
  }

  /** After client.stopClient(): waits for the trust setup to settle, then writes the store one last time. */
  async close(): Promise<void> {
    this.#watcher?.stop();
    this.#stopAccepting();
    // Bounded: a homeserver gone away must not hold the stop; what the setup did not finish, the next start redoes.
    await Promise.race([this.#trust, new Promise((r) => setTimeout(r, 3000).unref())]);
    await this.#bc.close();
  }
}

/** What the history sharing needs of a running bot connection (BotConnection is one). */
export interface EncryptedConnection {
  readonly userId: string;
  readonly client: MatrixClient;
  readonly encryption?: BotEncryption;
  isJoined(roomId: string): boolean;
}

/** A running bot connection as a history inviter; undefined when its encryption is off. */
export function historyInviter(conn: EncryptedConnection): HistoryInviter | undefined {
  const enc = conn.encryption;
  if (!enc) return undefined;
  return {
    userId: conn.userId,
    client: conn.client,
    isJoined: (roomId) => conn.isJoined(roomId),
    trustReady: () => enc.startTrust(),
  };
}

/**
 * Bots added to an encrypted room after it began (provisioning leaves them out): a bot already in the room, which
 * holds its keys, invites each with the history keys; the invitee's runner joins on the invite and imports them.
 */
export async function inviteLateBots(
  conns: readonly EncryptedConnection[],
  roomId: string,
  userIds: readonly string[],
  log?: Logger,
): Promise<Map<string, HistoryInviteOutcome>> {
  const inviters = conns.map(historyInviter).filter((i): i is HistoryInviter => i !== undefined);
  const out = new Map<string, HistoryInviteOutcome>();
  for (const userId of userIds) {
    const inviter = pickInviter(inviters, roomId, userId);
    if (!inviter) throw new Error(`No bot with encryption is in ${roomId} to invite ${userId}.`);
    // The SDK sends the keys only to devices signed by their owner's identity: the newcomer's cross-signing first
    // (on a real homeserver it can still be on its way when the inviter is ready).
    const invitee = conns.find((c) => c.userId === userId)?.encryption;
    if (invitee && !(await invitee.crossSigned()))
      throw new Error(`${userId} is not cross-signed yet, so the room's keys cannot be shared with it`);
    out.set(userId, await inviteWithHistory(inviter, roomId, userId, log));
  }
  return out;
}
