// One Matrix connection per bot, over matrix-js-sdk: sync from a saved token, raw timeline events out (in room
// order, decrypted, gaps filled first), membership bookkeeping. The SDK client is built in bot-sdk-client.ts
// (injectable fetch and factory, so tests can drive it), sends go through bot-send.ts, reads of history through
// bot-history.ts.
import {
  ClientEvent,
  RoomEvent,
  RoomMemberEvent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type RoomMember,
} from 'matrix-js-sdk';
import type { MediaSource } from '../attachments/media-download.ts';
import type { Logger } from '../logging/logger.ts';
import { BotEncryption, ENCRYPTION_EVENT, type BotEncryptionOptions } from './bot-crypto-wiring.ts';
import { BotHistory } from './bot-history.ts';
import { createBotSdkClient, type BotSdkClientOptions } from './bot-sdk-client.ts';
import { BotSender } from './bot-send.ts';
import { asRawEvent } from './sdk-internals.ts';
import { fillGap, type SyncGap } from './sync-gaps.ts';
import type { RawEvent } from './types.ts';

export { ResumableStore } from './bot-sdk-client.ts';

export interface BotClientOptions extends BotSdkClientOptions {
  /** End-to-end encryption (Rust crypto, persistent store); without it encrypted rooms are unreadable. */
  encryption?: BotEncryptionOptions;
  /** How far back a first sync (no saved token) pages a gap: events older than this (ms since epoch) are history. */
  historyCutoffTs?: () => number;
}

/** A gap that could not be filled: the room, the sync's tokens, and the oldest event the sync did carry. */
export interface GapFailure {
  roomId: string;
  since: string | undefined;
  prevBatch: string;
  /** When the events the bot did get begin (ms since epoch); what may be missing lies before it. */
  untilTs: number | undefined;
  reason: string;
}

export interface SyncHandlers {
  onEvent: EventListener;
  onSynced: (nextToken: string) => void;
  onInvite: (roomId: string, inviter: string | undefined) => void;
  /** A gap was paged back and its events delivered; `recovered` counts them. */
  onGapFilled?: (roomId: string, recovered: number) => void;
  /** A gap could not be filled (an error, or more events than the cap): the runner tells the room. */
  onGapFailed?: (failure: GapFailure) => void;
}

/** Event ids recently delivered, so a gap's walk stops at what the bot already had. */
const KNOWN_MAX = 5000;

export interface Member {
  userId: string;
  displayName: string;
}

export type EventListener = (roomId: string, event: RawEvent, batchSince: string | undefined) => void;

export class BotConnection {
  readonly client: MatrixClient;
  readonly userId: string;
  /** Where the bot downloads attachments: the authenticated media API with its own token. */
  readonly media: MediaSource;
  /** The since-token of the batch being processed: events seen now are covered by a restart from it. */
  #batchSince: string | undefined;
  #stopped = false;
  /** Rooms this bot is joined to, from /joined_rooms and membership events: after a restart from a saved
   * token the SDK has no room state, so its own membership view would say "leave". */
  readonly #joined = new Set<string>();
  readonly #members = new Map<string, Promise<Member[]>>();
  readonly #encryptionOptions: BotEncryptionOptions | undefined;
  readonly #logger: Logger | undefined;
  #encryption: BotEncryption | undefined;
  readonly #sender: BotSender;
  readonly #history: BotHistory;
  /** Encrypted events are decrypted before delivery: later events wait behind them, so the runner sees room order. */
  #delivery: Promise<void> = Promise.resolve();
  #deliveriesPending = 0;
  readonly #known = new Set<string>();
  #handlers: SyncHandlers | undefined;
  readonly #historyCutoffTs: () => number;

  constructor(options: BotClientOptions) {
    const { account } = options;
    this.userId = account.userId;
    this.#batchSince = options.savedSyncToken;
    this.#historyCutoffTs = options.historyCutoffTs ?? (() => Date.now() - 5 * 60_000);
    // Every /sync answer is read for gaps before the SDK sees it: what they hide is delivered first.
    this.client = createBotSdkClient(options, (gaps) => this.#onGaps(gaps));
    const fetchFn = options.fetchFn ?? globalThis.fetch.bind(globalThis);
    this.media = { baseUrl: options.baseUrl, accessToken: () => this.client.getAccessToken(), fetch: fetchFn };
    this.#encryptionOptions = options.encryption;
    this.#logger = options.logger?.child({ bot: account.id });
    const encryption = () => this.#encryption;
    const stopped = () => this.#stopped;
    this.#sender = new BotSender(this.client, encryption, stopped);
    this.#history = new BotHistory(this.client, encryption, stopped);
  }

  /** The bot's encryption, when it is on and started. */
  get encryption(): BotEncryption | undefined {
    return this.#encryption;
  }

  /** Learns the rooms the bot is in (before any bot syncs, so the first event can be routed to all), and opens its crypto store. */
  async prepare(): Promise<void> {
    const joined = await this.client.getJoinedRooms();
    for (const r of joined.joined_rooms) this.#joined.add(r);
    if (this.#encryptionOptions && !this.#encryption) {
      try {
        this.#encryption = await BotEncryption.init(this.client, this.#encryptionOptions, this.#logger);
      } catch (err) {
        // A bot without crypto still answers in unencrypted rooms; the error says what to do about encrypted ones.
        this.#logger?.error({ err: (err as Error).message }, 'encryption could not start for this bot');
      }
    }
  }

  /** Delivers in order: at once when nothing waits, else after the events before it (decrypted first). */
  #deliver(run: () => void | Promise<void>): void {
    if (this.#deliveriesPending === 0) {
      const r = run();
      if (!(r instanceof Promise)) return;
      this.#track(r);
      return;
    }
    this.#track(this.#delivery.then(run));
  }

  #track(p: Promise<void>): void {
    this.#deliveriesPending++;
    this.#delivery = p
      .catch((err: unknown) => this.#logger?.warn({ err: (err as Error).message }, 'could not read an event'))
      .finally(() => this.#deliveriesPending--);
  }

  /** Starts syncing; events come to onEvent (gaps filled first), each finished batch's next token to onSynced. */
  async start(handlers: SyncHandlers): Promise<void> {
    this.#handlers = handlers;
    const { onEvent, onSynced, onInvite } = handlers;
    this.client.on(
      RoomEvent.Timeline,
      (event: MatrixEvent, room: Room | undefined, toStart: boolean | undefined, removed: boolean) => {
        // Only events from the server: local echoes (status set) and back-pagination are not new.
        if (toStart || removed || event.status !== null || !room) return;
        const since = this.#batchSince;
        const enc = this.#encryption;
        this.#note(room.roomId, event.getId(), event.getType(), event.getStateKey(), event.getContent().membership);
        if (!enc || !event.isEncrypted()) {
          this.#deliver(() => onEvent(room.roomId, asRawEvent(structuredClone(event.event)), since));
          return;
        }
        // Undecryptable events are left to the watcher, which hands them back when their key arrives.
        this.#deliver(async () => {
          const clear = await enc.readable(event);
          if (clear) onEvent(room.roomId, clear, since);
        });
      },
    );
    this.#encryption?.watch(
      (roomId, text) => this.send(roomId, 'm.room.message', { msgtype: 'm.notice', body: text }),
      (roomId, clear) => this.#deliver(() => onEvent(roomId, clear, this.#batchSince)),
    );
    let prepared!: () => void;
    let failed!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      prepared = resolve;
      failed = reject;
    });
    this.client.on(ClientEvent.Sync, (state, _prev, data) => {
      if (state === 'PREPARED' || state === 'SYNCING') prepared();
      if (state === 'ERROR' && (data?.error as { errcode?: string } | undefined)?.errcode === 'M_UNKNOWN_TOKEN')
        failed(new Error(`The access token of ${this.userId} was refused; the account needs provisioning again.`));
      if (data?.nextSyncToken) {
        this.#batchSince = data.nextSyncToken;
        // After the batch's events are delivered: a saved token must not pass one still being decrypted.
        const token = data.nextSyncToken;
        this.#deliver(() => onSynced(token));
      }
    });
    this.client.on(RoomMemberEvent.Membership, (event: MatrixEvent, member: RoomMember) => {
      if (member.userId === this.userId && member.membership === 'invite') onInvite(member.roomId, event.getSender());
    });
    // Threads off: thread messages stay in the main timeline, which is where the runner reads them.
    await this.client.startClient({ initialSyncLimit: 30, threadSupport: false, lazyLoadMembers: false });
    await ready;
    // In the background: replies work meanwhile; the backup key it loads lets the SDK fetch missing room keys.
    void this.#encryption?.startTrust();
  }

  /** Membership and encryption bookkeeping for an event about to be delivered, and it is known from now on. */
  #note(
    roomId: string,
    eventId: string | undefined,
    type: string,
    stateKey: string | undefined,
    membership: unknown,
  ): void {
    if (eventId) {
      this.#known.add(eventId);
      if (this.#known.size > KNOWN_MAX) this.#known.delete(this.#known.values().next().value as string);
    }
    if (type === ENCRYPTION_EVENT) this.#encryption?.forget(roomId);
    if (type !== 'm.room.member') return;
    this.#members.delete(roomId);
    if (stateKey !== this.userId) return;
    if (membership === 'join') this.#joined.add(roomId);
    else this.#joined.delete(roomId);
  }

  /** Each gap is filled in delivery order: the events of the same answer wait until it is done. */
  #onGaps(gaps: SyncGap[]): void {
    if (this.#stopped) return;
    for (const gap of gaps) this.#deliver(() => this.#fill(gap));
  }

  async #fill(gap: SyncGap): Promise<void> {
    const handlers = this.#handlers;
    if (!handlers || this.#stopped) return;
    const log = this.#logger?.child({ room: gap.roomId, since: gap.since, prevBatch: gap.prevBatch });
    try {
      const fill = await fillGap(
        gap,
        (roomId, from, to, limit) => this.#history.messagesPage(roomId, from, to, limit),
        {
          isKnown: (id) => this.#known.has(id),
          ...(gap.since === undefined ? { notBeforeTs: this.#historyCutoffTs() } : {}),
        },
      );
      for (const raw of fill.events) {
        if (this.#stopped) return;
        this.#note(gap.roomId, raw.event_id, raw.type, raw.state_key, raw.content?.membership);
        const clear = await this.#history.readableGapEvent(raw);
        if (clear) handlers.onEvent(gap.roomId, clear, gap.since);
      }
      log?.info({ recovered: fill.events.length, complete: fill.complete }, 'filled a gap in the sync from /messages');
      handlers.onGapFilled?.(gap.roomId, fill.events.length);
      if (!fill.complete)
        handlers.onGapFailed?.({
          ...this.#gapTokens(gap),
          reason: `more than ${fill.events.length} messages arrived while I was away`,
        });
    } catch (err) {
      if (this.#stopped) return;
      const reason = (err as Error).message ?? String(err);
      log?.error({ err: reason }, 'could not fill a gap in the sync: messages in it may be missed');
      handlers.onGapFailed?.({ ...this.#gapTokens(gap), reason });
    }
  }

  #gapTokens(gap: SyncGap): Omit<GapFailure, 'reason'> {
    return { roomId: gap.roomId, since: gap.since, prevBatch: gap.prevBatch, untilTs: gap.firstTs };
  }

  /** Ends the sync long-poll at once (the SDK aborts its request) and every timer it holds. */
  stop(): void {
    this.#stopped = true;
    this.client.stopClient();
    this.client.removeAllListeners();
  }

  /** After stop(): the crypto store's last write (same device and keys on the next start). */
  async close(): Promise<void> {
    const enc = this.#encryption;
    this.#encryption = undefined;
    // Closing crypto under an encryption in flight makes the SDK reject a promise nobody awaits: let it finish.
    await this.#sender.settle();
    await enc?.close();
  }

  isJoined(roomId: string): boolean {
    return this.#joined.has(roomId);
  }

  /**
   * Joins through the SDK's joinRoom: when the SDK knows who invited us, it imports the room key bundle that an
   * inviter holding the room's keys sent with the invite (MSC4268), so history from before the join is readable.
   */
  async join(roomId: string): Promise<void> {
    await this.#inviteKnown(roomId);
    // The join resolves once the bundle is imported; the earlier messages synced meanwhile are not news to announce.
    const joined = this.client.joinRoom(roomId);
    this.#encryption?.holdNotices(roomId, joined);
    await joined;
    this.#joined.add(roomId);
  }

  /** The invite's membership event is emitted before the SDK stores the invited room; joinRoom reads the inviter from there. */
  async #inviteKnown(roomId: string, timeoutMs = 2000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.client.getRoom(roomId)?.getMember(this.userId)?.events.member && Date.now() < end && !this.#stopped) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends an event (encrypted in an encrypted room) under `txnId`, idempotent across restarts; returns its id. */
  send(roomId: string, type: string, content: Record<string, unknown>, txnId?: string): Promise<string> {
    return this.#sender.send(roomId, type, content, txnId);
  }

  async typing(roomId: string, on: boolean): Promise<void> {
    await this.client.sendTyping(roomId, on, 30_000);
  }

  /** The newest `limit` events of the room, oldest first. */
  recentEvents(roomId: string, limit: number): Promise<RawEvent[]> {
    return this.#history.recentEvents(roomId, limit);
  }

  fetchEvent(roomId: string, eventId: string): Promise<RawEvent | undefined> {
    return this.#history.fetchEvent(roomId, eventId);
  }

  /** In an encrypted room, waits (up to `timeoutMs`) until this bot can read the event; true when it can. */
  waitReadable(roomId: string, eventId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.#history.waitReadable(roomId, eventId, timeoutMs, signal);
  }

  /** Joined members (from the server, cached until a membership event in the room). */
  joinedMembers(roomId: string): Promise<Member[]> {
    let p = this.#members.get(roomId);
    if (!p) {
      p = this.client
        .getJoinedRoomMembers(roomId)
        .then((res) =>
          Object.entries(res.joined).map(([userId, m]) => ({ userId, displayName: m.display_name ?? userId })),
        );
      p.catch(() => this.#members.delete(roomId));
      this.#members.set(roomId, p);
    }
    return p;
  }
}
