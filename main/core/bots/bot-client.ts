// One Matrix connection per bot, over matrix-js-sdk: sync from a saved token, raw timeline events out,
// sends without local echo. Built through an injectable factory (fetch, store, logger) so tests can drive it.
import { ClientEvent, ConnectionError, createClient, Direction, MemoryStore, Method, RoomEvent, RoomMemberEvent, type ICreateClientOpts, type MatrixClient, type MatrixEvent, type Room, type RoomMember } from 'matrix-js-sdk';
import type { Logger } from '../logging/logger.ts';
import type { BotAccount, RawEvent } from './types.ts';

/** A MemoryStore that hands the SDK our persisted sync token, so a restart resumes where it stopped. */
export class ResumableStore extends MemoryStore {
  readonly #savedToken: string | undefined;
  constructor(savedToken: string | undefined) {
    super({ localStorage: undefined });
    this.#savedToken = savedToken;
  }
  override getSavedSyncToken(): Promise<string | null> {
    return Promise.resolve(this.#savedToken ?? null);
  }
}

/** How long a send keeps retrying while the homeserver is unreachable or answers 5xx. */
const SEND_RETRY_MS = 30_000;

/** Connection failures and server errors are worth a retry; a 4xx answer is not. */
function retryableSend(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  const status = (err as { httpStatus?: unknown }).httpStatus;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

export interface BotClientOptions {
  baseUrl: string;
  account: BotAccount;
  savedSyncToken?: string;
  fetchFn?: typeof globalThis.fetch;
  logger?: Logger;
  /** Builds the SDK client; replace it in tests. */
  createMatrixClient?: (opts: ICreateClientOpts) => MatrixClient;
}

export interface Member {
  userId: string;
  displayName: string;
}

export type EventListener = (roomId: string, event: RawEvent, batchSince: string | undefined) => void;

/** The SDK's logger interface backed by pino; the SDK is chatty, so its info goes to debug. */
function sdkLogger(logger: Logger | undefined, name: string): NonNullable<ICreateClientOpts['logger']> {
  const fmt = (msg: unknown[]): string => msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  const make = (ns: string): NonNullable<ICreateClientOpts['logger']> => ({
    trace: () => {},
    debug: () => {},
    info: (...m: unknown[]) => logger?.debug({ sdk: ns }, fmt(m)),
    warn: (...m: unknown[]) => logger?.debug({ sdk: ns }, fmt(m)),
    error: (...m: unknown[]) => logger?.warn({ sdk: ns }, fmt(m)),
    getChild: (child: string) => make(`${ns}.${child}`),
  });
  return make(name);
}

export class BotConnection {
  readonly client: MatrixClient;
  readonly userId: string;
  /** The since-token of the batch being processed: events seen now are covered by a restart from it. */
  #batchSince: string | undefined;
  #txn = 0;
  #stopped = false;
  /** Rooms this bot is joined to, from /joined_rooms and membership events: after a restart from a saved
   * token the SDK has no room state, so its own membership view would say "leave". */
  readonly #joined = new Set<string>();
  readonly #members = new Map<string, Promise<Member[]>>();

  constructor(options: BotClientOptions) {
    const { account } = options;
    this.userId = account.userId;
    this.#batchSince = options.savedSyncToken;
    const opts: ICreateClientOpts = {
      baseUrl: options.baseUrl,
      userId: account.userId,
      deviceId: account.deviceId,
      accessToken: account.accessToken,
      store: new ResumableStore(options.savedSyncToken),
      logger: sdkLogger(options.logger, account.id),
      useAuthorizationHeader: true,
    };
    if (options.fetchFn) opts.fetchFn = options.fetchFn;
    this.client = (options.createMatrixClient ?? createClient)(opts);
  }

  /** Learns the rooms the bot is in (before any bot syncs, so the first event can be routed to all). */
  async prepare(): Promise<void> {
    const joined = await this.client.getJoinedRooms();
    for (const r of joined.joined_rooms) this.#joined.add(r);
  }

  /** Starts syncing; events come to onEvent, each finished batch's next token to onSynced. */
  async start(onEvent: EventListener, onSynced: (nextToken: string) => void, onInvite: (roomId: string, inviter: string | undefined) => void): Promise<void> {
    this.client.on(RoomEvent.Timeline, (event: MatrixEvent, room: Room | undefined, toStart: boolean | undefined, removed: boolean) => {
      // Only events from the server: local echoes (status set) and back-pagination are not new.
      if (toStart || removed || event.status !== null || !room) return;
      if (event.getType() === 'm.room.member') {
        this.#members.delete(room.roomId);
        if (event.getStateKey() === this.userId) {
          if (event.getContent().membership === 'join') this.#joined.add(room.roomId);
          else this.#joined.delete(room.roomId);
        }
      }
      onEvent(room.roomId, structuredClone(event.event) as RawEvent, this.#batchSince);
    });
    let prepared!: () => void;
    let failed!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      prepared = resolve;
      failed = reject;
    });
    this.client.on(ClientEvent.Sync, (state, _prev, data) => {
      if (state === 'PREPARED' || state === 'SYNCING') prepared();
      if (state === 'ERROR' && (data?.error as { errcode?: string } | undefined)?.errcode === 'M_UNKNOWN_TOKEN') failed(new Error(`The access token of ${this.userId} was refused; the account needs provisioning again.`));
      if (data?.nextSyncToken) {
        this.#batchSince = data.nextSyncToken;
        onSynced(data.nextSyncToken);
      }
    });
    this.client.on(RoomMemberEvent.Membership, (event: MatrixEvent, member: RoomMember) => {
      if (member.userId === this.userId && member.membership === 'invite') onInvite(member.roomId, event.getSender());
    });
    // Threads off: thread messages stay in the main timeline, which is where the runner reads them.
    await this.client.startClient({ initialSyncLimit: 30, threadSupport: false, lazyLoadMembers: false });
    await ready;
  }

  /** Ends the sync long-poll at once (the SDK aborts its request) and every timer it holds. */
  stop(): void {
    this.#stopped = true;
    this.client.stopClient();
    this.client.removeAllListeners();
  }

  isJoined(roomId: string): boolean {
    return this.#joined.has(roomId);
  }

  async join(roomId: string): Promise<void> {
    await this.client.joinRoom(roomId);
    this.#joined.add(roomId);
  }

  /**
   * Sends an event straight to the server (no local echo, no SDK thread guessing); returns its id.
   * While the homeserver restarts (the supervisor brings it back within seconds) the send is retried with
   * the same transaction id, which the server answers once: a reply is finished, never posted twice.
   */
  async send(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const txn = `ar${Date.now().toString(36)}.${++this.#txn}`;
    const path = `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txn)}`;
    const deadline = Date.now() + SEND_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.client.http.authedRequest<{ event_id: string }>(Method.Put, path, undefined, content);
        return res.event_id;
      } catch (err) {
        if (this.#stopped || !retryableSend(err) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  async typing(roomId: string, on: boolean): Promise<void> {
    await this.client.sendTyping(roomId, on, 30_000);
  }

  /** The newest `limit` events of the room, oldest first. */
  async recentEvents(roomId: string, limit: number): Promise<RawEvent[]> {
    const res = await this.client.createMessagesRequest(roomId, null, limit, Direction.Backward);
    return (res.chunk as unknown as RawEvent[]).slice().reverse();
  }

  async fetchEvent(roomId: string, eventId: string): Promise<RawEvent | undefined> {
    const local = this.client.getRoom(roomId)?.findEventById(eventId);
    if (local) return local.event as RawEvent;
    try {
      return (await this.client.fetchRoomEvent(roomId, eventId)) as RawEvent;
    } catch {
      return undefined;
    }
  }

  /** Joined members (from the server, cached until a membership event in the room). */
  joinedMembers(roomId: string): Promise<Member[]> {
    let p = this.#members.get(roomId);
    if (!p) {
      p = this.client.getJoinedRoomMembers(roomId).then((res) => Object.entries(res.joined).map(([userId, m]) => ({ userId, displayName: m.display_name ?? userId })));
      p.catch(() => this.#members.delete(roomId));
      this.#members.set(roomId, p);
    }
    return p;
  }
}
