// The homeserver's state, rebuilt from an append-only JSON-lines journal so a restart keeps every account,
// device, token, room, event and stream position (since-tokens stay valid across restarts).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactContent } from './redaction.ts';

export interface ClientEvent {
  event_id: string;
  type: string;
  room_id: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface StoredEvent {
  event: ClientEvent;
  stream: number;
  /** The sending device and its txn id: unsigned.transaction_id goes back to that device only. */
  txn?: { userId: string; deviceId: string; txnId: string; key: string };
}

export interface Room {
  roomId: string;
  version: string;
  timeline: StoredEvent[];
  state: Map<string, StoredEvent>;
  receipts: Map<
    string,
    { type: string; userId: string; eventId: string; ts: number; threadId?: string; stream: number }
  >;
  /** user → expiry (ms since epoch); typing is ephemeral and never journaled, only its stream position is. */
  typing: Map<string, number>;
  typingStream: number;
}

export interface User {
  userId: string;
  passwordHash?: string;
  displayname?: string;
  avatarUrl?: string;
  createdTs: number;
}
export interface Device {
  userId: string;
  deviceId: string;
  displayName?: string;
  lastSeenTs: number;
}
export interface Media {
  mediaId: string;
  contentType: string;
  filename?: string;
  size: number;
  uploader: string;
}
export interface AccountDataEntry {
  content: Record<string, unknown>;
  stream: number;
}

export type JournalRecord =
  | { k: 'user'; userId: string; passwordHash?: string; createdTs: number }
  | { k: 'password'; userId: string; passwordHash: string }
  | { k: 'profile'; userId: string; displayname?: string | null; avatar_url?: string | null }
  | { k: 'device'; userId: string; deviceId: string; displayName?: string; ts: number }
  | { k: 'device-del'; userId: string; deviceId: string }
  | { k: 'token'; token: string; userId: string; deviceId: string }
  | { k: 'token-del'; token: string }
  | { k: 'event'; stream: number; event: ClientEvent; txn?: StoredEvent['txn'] }
  | { k: 'ad'; stream: number; userId: string; roomId?: string; type: string; content: Record<string, unknown> }
  | {
      k: 'receipt';
      stream: number;
      roomId: string;
      userId: string;
      type: string;
      eventId: string;
      ts: number;
      threadId?: string;
    }
  | { k: 'filter'; userId: string; filterId: string; filter: Record<string, unknown> }
  | { k: 'media'; media: Media }
  | { k: 'forget'; userId: string; roomId: string }
  | { k: 'alias'; alias: string; roomId: string | null }
  | { k: 'bump'; stream: number };

export const stateKeyOf = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;

export class Store {
  stream = 0;
  readonly users = new Map<string, User>();
  readonly devices = new Map<string, Device>(); // key user\0device
  readonly tokens = new Map<string, { userId: string; deviceId: string }>();
  readonly rooms = new Map<string, Room>();
  readonly events = new Map<string, { stored: StoredEvent; roomId: string }>();
  readonly accountData = new Map<string, Map<string, AccountDataEntry>>(); // key user\0room('' = global) → type → entry
  readonly filters = new Map<string, Record<string, unknown>>(); // key user\0filterId
  readonly txns = new Map<string, string>(); // txn key → event id
  readonly media = new Map<string, Media>();
  readonly forgotten = new Set<string>(); // user\0room
  readonly aliases = new Map<string, string>();
  /** target event id → events whose content['m.relates_to'].event_id names it (edits, threads, reactions). */
  readonly relations = new Map<string, StoredEvent[]>();
  private readonly waiters = new Set<() => void>();
  private readonly journalPath: string | undefined;

  constructor(dataDir?: string) {
    if (dataDir === undefined) return;
    mkdirSync(dataDir, { recursive: true });
    this.journalPath = join(dataDir, 'journal.jsonl');
    if (!existsSync(this.journalPath)) return;
    const lines = readFileSync(this.journalPath, 'utf8').split('\n');
    for (const line of lines) {
      if (line.trim() === '') continue;
      let rec: JournalRecord;
      try {
        rec = JSON.parse(line) as JournalRecord;
      } catch {
        // A line cut short by a crash mid-write: everything before it is intact, so skip it.
        continue;
      }
      this.apply(rec);
    }
  }

  nextStream(): number {
    return this.stream + 1;
  }

  /** Applies a record, journals it, and wakes long-polling /sync requests when the stream moved. */
  commit(rec: JournalRecord): void {
    this.apply(rec);
    if (this.journalPath !== undefined) appendFileSync(this.journalPath, `${JSON.stringify(rec)}\n`);
    if ('stream' in rec) this.notify();
  }

  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves on the next stream change or when `signal` aborts. */
  waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done);
    });
  }

  private apply(rec: JournalRecord): void {
    if ('stream' in rec) this.stream = Math.max(this.stream, rec.stream);
    switch (rec.k) {
      case 'user':
        this.users.set(rec.userId, { userId: rec.userId, passwordHash: rec.passwordHash, createdTs: rec.createdTs });
        break;
      case 'password': {
        const u = this.users.get(rec.userId);
        if (u) u.passwordHash = rec.passwordHash;
        break;
      }
      case 'profile': {
        const u = this.users.get(rec.userId);
        if (!u) break;
        if (rec.displayname !== undefined) u.displayname = rec.displayname ?? undefined;
        if (rec.avatar_url !== undefined) u.avatarUrl = rec.avatar_url ?? undefined;
        break;
      }
      case 'device':
        this.devices.set(`${rec.userId}\u0000${rec.deviceId}`, {
          userId: rec.userId,
          deviceId: rec.deviceId,
          displayName: rec.displayName,
          lastSeenTs: rec.ts,
        });
        break;
      case 'device-del':
        this.devices.delete(`${rec.userId}\u0000${rec.deviceId}`);
        for (const [t, v] of this.tokens)
          if (v.userId === rec.userId && v.deviceId === rec.deviceId) this.tokens.delete(t);
        break;
      case 'token':
        this.tokens.set(rec.token, { userId: rec.userId, deviceId: rec.deviceId });
        break;
      case 'token-del':
        this.tokens.delete(rec.token);
        break;
      case 'event':
        this.applyEvent(rec.event, rec.stream, rec.txn);
        break;
      case 'ad': {
        const key = `${rec.userId}\u0000${rec.roomId ?? ''}`;
        let m = this.accountData.get(key);
        if (!m) this.accountData.set(key, (m = new Map()));
        m.set(rec.type, { content: rec.content, stream: rec.stream });
        break;
      }
      case 'receipt': {
        const room = this.rooms.get(rec.roomId);
        if (!room) break;
        room.receipts.set(`${rec.type}\u0000${rec.userId}\u0000${rec.threadId ?? ''}`, {
          type: rec.type,
          userId: rec.userId,
          eventId: rec.eventId,
          ts: rec.ts,
          threadId: rec.threadId,
          stream: rec.stream,
        });
        break;
      }
      case 'filter':
        this.filters.set(`${rec.userId}\u0000${rec.filterId}`, rec.filter);
        break;
      case 'media':
        this.media.set(rec.media.mediaId, rec.media);
        break;
      case 'forget':
        this.forgotten.add(`${rec.userId}\u0000${rec.roomId}`);
        break;
      case 'alias':
        if (rec.roomId === null) this.aliases.delete(rec.alias);
        else this.aliases.set(rec.alias, rec.roomId);
        break;
      case 'bump':
        break;
    }
  }

  private applyEvent(event: ClientEvent, stream: number, txn: StoredEvent['txn']): void {
    let room = this.rooms.get(event.room_id);
    if (!room) {
      if (event.type !== 'm.room.create') return;
      const version = typeof event.content.room_version === 'string' ? event.content.room_version : '1';
      room = {
        roomId: event.room_id,
        version,
        timeline: [],
        state: new Map(),
        receipts: new Map(),
        typing: new Map(),
        typingStream: 0,
      };
      this.rooms.set(event.room_id, room);
    }
    const stored: StoredEvent = { event, stream, txn };
    if (event.state_key !== undefined) {
      const key = stateKeyOf(event.type, event.state_key);
      const prev = room.state.get(key);
      if (prev) {
        // Computed at apply time so a replayed journal yields the same unsigned data.
        event.unsigned = {
          ...event.unsigned,
          replaces_state: prev.event.event_id,
          prev_content: prev.event.content,
          prev_sender: prev.event.sender,
        };
      }
      room.state.set(key, stored);
      if (event.type === 'm.room.member' && event.content.membership === 'join')
        this.forgotten.delete(`${event.state_key}\u0000${room.roomId}`);
    }
    if (event.type === 'm.room.redaction') {
      const target = event.redacts ?? (event.content.redacts as string | undefined);
      const t = target === undefined ? undefined : this.events.get(target);
      if (t && t.roomId === room.roomId) {
        t.stored.event.content = redactContent(t.stored.event.type, t.stored.event.content, room.version);
        const { unsigned: _u, ...because } = event;
        t.stored.event.unsigned = { ...t.stored.event.unsigned, redacted_because: because };
      }
    }
    if (txn) this.txns.set(txn.key, event.event_id);
    const rel = event.content['m.relates_to'] as { event_id?: unknown } | undefined;
    if (rel && typeof rel.event_id === 'string') {
      const list = this.relations.get(rel.event_id) ?? [];
      list.push(stored);
      this.relations.set(rel.event_id, list);
    }
    room.timeline.push(stored);
    this.events.set(event.event_id, { stored, roomId: room.roomId });
  }

  membership(roomId: string, userId: string): { membership: string; stored: StoredEvent } | undefined {
    const s = this.rooms.get(roomId)?.state.get(stateKeyOf('m.room.member', userId));
    if (!s) return undefined;
    return { membership: String(s.event.content.membership), stored: s };
  }

  stateContent(roomId: string, type: string, stateKey = ''): Record<string, unknown> | undefined {
    return this.rooms.get(roomId)?.state.get(stateKeyOf(type, stateKey))?.event.content;
  }
}
