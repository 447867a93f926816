// The room's events a reply reads: the SDK's live timeline as the syncs carried it (decrypted where needed), and a
// thread's events within it.
import type { BotConnection } from './bot-client.ts';
import { relationOf } from './mentions.ts';
import type { RawEvent } from './types.ts';

/** Events of the thread rooted at `root` (the root, its thread messages, and edits/redactions of those). */
export function threadEvents(events: readonly RawEvent[], root: string): RawEvent[] {
  const ids = new Set([root]);
  for (const e of events) {
    const rel = relationOf(e.content);
    if (rel.relType === 'm.thread' && rel.eventId === root) ids.add(e.event_id);
  }
  return events.filter((e) => {
    if (ids.has(e.event_id)) return true;
    const rel = relationOf(e.content);
    return (
      (rel.relType === 'm.replace' && rel.eventId !== undefined && ids.has(rel.eventId)) ||
      (e.redacts !== undefined && ids.has(e.redacts))
    );
  });
}

/**
 * The room's events as the syncs carried them, oldest first, decrypted where needed: the SDK's live timeline,
 * which is contiguous (a limited sync resets it). Undefined when the SDK does not hold the room.
 */
export async function syncedEvents(conn: BotConnection, roomId: string): Promise<RawEvent[] | undefined> {
  // A connection stand-in (tests) may have no SDK client.
  const room = (conn.client as BotConnection['client'] | undefined)?.getRoom(roomId);
  if (!room) return undefined;
  const enc = conn.encryption;
  const out: RawEvent[] = [];
  for (const e of room.getLiveTimeline().getEvents()) {
    if (e.status !== null) continue; // a local echo, not the server's
    if (!enc || !e.isEncrypted()) out.push(e.event as RawEvent);
    else {
      // One that failed to decrypt is tried afresh (its key may have come since), as one from /messages would
      // be; still undecryptable, it is left out, as from /messages.
      const clear = (await enc.readable(e)) ?? (await enc.readableRaw([e.event as RawEvent]))[0];
      if (clear) out.push(clear);
    }
  }
  return out;
}
