// What a bot reads of a room besides its live sync: the newest events, one event by id, a page of /messages
// (for a sync gap), each decrypted where the bot's encryption can, as the runner reads raw events.
import { Direction, Method, type MatrixClient } from 'matrix-js-sdk';
import type { BotEncryption } from './bot-crypto-wiring.ts';
import { asRawEvent, asRawEvents } from './sdk-internals.ts';
import type { MessagesPage } from './sync-gaps.ts';
import type { RawEvent } from './types.ts';

export class BotHistory {
  readonly #client: MatrixClient;
  readonly #encryption: () => BotEncryption | undefined;
  readonly #stopped: () => boolean;

  constructor(client: MatrixClient, encryption: () => BotEncryption | undefined, stopped: () => boolean) {
    this.#client = client;
    this.#encryption = encryption;
    this.#stopped = stopped;
  }

  /** The newest `limit` events of the room, oldest first. */
  async recentEvents(roomId: string, limit: number): Promise<RawEvent[]> {
    const res = await this.#client.createMessagesRequest(roomId, null, limit, Direction.Backward);
    const events = asRawEvents(res.chunk).slice().reverse();
    const enc = this.#encryption();
    return enc ? enc.readableRaw(events) : events;
  }

  async fetchEvent(roomId: string, eventId: string): Promise<RawEvent | undefined> {
    const enc = this.#encryption();
    const local = this.#client.getRoom(roomId)?.findEventById(eventId);
    if (local) return enc && local.isEncrypted() ? enc.readable(local) : asRawEvent(local.event);
    try {
      const raw = asRawEvent(await this.#client.fetchRoomEvent(roomId, eventId));
      return enc ? (await enc.readableRaw([raw]))[0] : raw;
    } catch {
      return undefined;
    }
  }

  /**
   * In an encrypted room, waits (up to `timeoutMs`) until this bot can read the event: a message queued for it by
   * another bot may still wait on its room key. True when readable (or the room is not encrypted).
   */
  async waitReadable(roomId: string, eventId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const enc = this.#encryption();
    if (!enc || !(await enc.roomEncrypted(roomId))) return true;
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (await this.fetchEvent(roomId, eventId)) return true;
      if (Date.now() > end || signal?.aborted || this.#stopped()) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** One page of /messages backwards from `from` (to `to`, when given): what a sync gap hid. */
  async messagesPage(roomId: string, from: string, to: string | undefined, limit: number): Promise<MessagesPage> {
    const query: Record<string, string> = { from, dir: 'b', limit: String(limit) };
    if (to !== undefined) query.to = to;
    return this.#client.http.authedRequest<MessagesPage>(
      Method.Get,
      `/rooms/${encodeURIComponent(roomId)}/messages`,
      query,
    );
  }

  /** A recovered event as the runner reads it: decrypted (undecryptable ones go to the watcher, as live ones do). */
  async readableGapEvent(raw: RawEvent): Promise<RawEvent | undefined> {
    const enc = this.#encryption();
    if (raw.type !== 'm.room.encrypted' || !enc) return structuredClone(raw);
    return enc.readableRecovered(raw);
  }
}
