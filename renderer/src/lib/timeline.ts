// The timeline as shown: edits (m.replace) applied so a streaming reply grows in place, edit events
// hidden, thread replies grouped under their root, replies linked to the message they quote. Encrypted events
// arrive already decrypted; one whose keys are missing shows as a placeholder until they arrive.

export interface RawEvent {
  eventId: string;
  type: string;
  sender: string;
  ts: number;
  content: Record<string, unknown>;
  redacted?: boolean;
  /** Local echo not yet confirmed by the server. */
  pending?: boolean;
  failed?: boolean;
  /** Sent end-to-end encrypted (whether or not it could be decrypted). */
  e2e?: boolean;
  /**
   * Clear content not available: keys still on their way, decryption failed (waiting for keys), or sent before
   * this device existed and its key is not in the key backup.
   */
  decryption?: 'pending' | 'failed' | 'historical';
}

export interface DisplayMessage {
  eventId: string;
  sender: string;
  ts: number;
  /** The content shown: the latest edit's m.new_content, or the original. */
  content: Record<string, unknown>;
  edited: boolean;
  redacted: boolean;
  pending: boolean;
  failed: boolean;
  /** Its content cannot be shown: still encrypted (see `decryption`). */
  encrypted: boolean;
  decryption?: RawEvent['decryption'];
  /** Sent end-to-end encrypted. */
  e2e: boolean;
  replyTo?: string;
  threadRoot?: string;
  /** Number of thread replies when this message is a thread root. */
  threadReplies: number;
  latestThreadEventId?: string;
  /** A bot marked this text complete (its last edit, or a first message that was whole). */
  final: boolean;
}

/** The bot runner's marker on the edit (or first message) that carries a reply's whole text. */
export const FINAL_KEY = 'org.agentroom.final';

export interface ProjectedTimeline {
  /** Messages of the main timeline (thread replies excluded), oldest first. */
  main: DisplayMessage[];
  /** Thread replies by root event id, oldest first. */
  threads: Map<string, DisplayMessage[]>;
  byId: Map<string, DisplayMessage>;
}

function relation(content: Record<string, unknown>): Record<string, unknown> | undefined {
  const rel = content['m.relates_to'];
  return rel && typeof rel === 'object' ? (rel as Record<string, unknown>) : undefined;
}

function isEdit(ev: RawEvent): string | undefined {
  const rel = relation(ev.content);
  return rel?.rel_type === 'm.replace' && typeof rel.event_id === 'string' ? rel.event_id : undefined;
}

const SHOWN_TYPES = new Set(['m.room.message', 'm.room.encrypted', 'm.sticker']);

export function projectTimeline(events: readonly RawEvent[]): ProjectedTimeline {
  // Latest valid edit per target: same sender only (spec), later timestamp wins, then later position.
  const latestEdit = new Map<string, RawEvent>();
  const senders = new Map(events.map((e) => [e.eventId, e.sender]));
  for (const ev of events) {
    const target = isEdit(ev);
    // An edit not decrypted yet has no m.new_content: it must not hide an earlier edit's text meanwhile.
    if (!target || ev.redacted || ev.decryption) continue;
    if (senders.has(target) && senders.get(target) !== ev.sender) continue;
    const prev = latestEdit.get(target);
    if (!prev || ev.ts >= prev.ts) latestEdit.set(target, ev);
  }

  const main: DisplayMessage[] = [];
  const threads = new Map<string, DisplayMessage[]>();
  const byId = new Map<string, DisplayMessage>();
  for (const ev of events) {
    if (!SHOWN_TYPES.has(ev.type) || isEdit(ev)) continue;
    const edit = latestEdit.get(ev.eventId);
    const newContent = edit?.content['m.new_content'];
    const rel = relation(ev.content);
    const content =
      newContent && typeof newContent === 'object' && !ev.redacted
        ? { ...(newContent as Record<string, unknown>), 'm.relates_to': rel }
        : ev.content;
    const inReplyTo = rel?.['m.in_reply_to'] as { event_id?: unknown } | undefined;
    const threadRoot = rel?.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : undefined;
    const msg: DisplayMessage = {
      eventId: ev.eventId,
      sender: ev.sender,
      ts: ev.ts,
      content,
      edited: Boolean(edit) && !ev.redacted,
      redacted: Boolean(ev.redacted),
      pending: Boolean(ev.pending),
      failed: Boolean(ev.failed),
      encrypted: ev.type === 'm.room.encrypted' && !(newContent && typeof newContent === 'object'),
      ...(ev.decryption ? { decryption: ev.decryption } : {}),
      e2e: Boolean(ev.e2e),
      // In a thread, a reply that only falls back to the previous thread event is not a real reply.
      replyTo:
        typeof inReplyTo?.event_id === 'string' && !(threadRoot && rel?.is_falling_back === true)
          ? inReplyTo.event_id
          : undefined,
      threadRoot,
      threadReplies: 0,
      final: !ev.redacted && (edit ? edit.content[FINAL_KEY] === true : ev.content[FINAL_KEY] === true),
    };
    byId.set(msg.eventId, msg);
    if (threadRoot) {
      const list = threads.get(threadRoot) ?? [];
      list.push(msg);
      threads.set(threadRoot, list);
    } else main.push(msg);
  }
  for (const [root, list] of threads) {
    const rootMsg = byId.get(root);
    if (rootMsg) {
      rootMsg.threadReplies = list.length;
      rootMsg.latestThreadEventId = list[list.length - 1]?.eventId;
    }
  }
  return { main, threads, byId };
}

/** Plain text of a message for quotes and previews. */
export function messageText(msg: DisplayMessage | undefined): string {
  if (!msg) return '';
  if (msg.redacted) return 'Message deleted';
  if (msg.encrypted) return 'Encrypted message';
  const body = msg.content.body;
  return typeof body === 'string' ? body : '';
}

/** Index of the first message after the read marker that someone else sent; -1 when all are read. */
export function firstUnreadIndex(
  messages: readonly DisplayMessage[],
  readUpTo: string | undefined,
  me: string,
): number {
  if (!readUpTo) return -1;
  const at = messages.findIndex((m) => m.eventId === readUpTo);
  if (at === -1) return -1;
  for (let i = at + 1; i < messages.length; i++) if (messages[i]!.sender !== me) return i;
  return -1;
}
