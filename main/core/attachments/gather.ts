// Which attachments a mention brings to the bot it addresses: the mention's own (an image with a caption that names
// the bot), the event it replies to, and, in a thread, those posted there since the bot's last answer in it. Pure:
// the caller reads the events (decrypted) and downloads what this picks.
import { relationOf } from '../bots/mentions.ts';
import type { RawEvent } from '../bots/types.ts';
import { attachmentOf, type AttachmentRef } from './attachment-event.ts';

export interface GatherInput {
  /** The bot answering: its last message in the thread bounds what the thread brings. */
  botUserId: string;
  /** The mention itself. */
  trigger: RawEvent | undefined;
  /** The event the mention replies to (a real reply, not a thread's fallback), when there is one. */
  repliedTo?: RawEvent | undefined;
  /** The thread's events in room order when the mention is in a thread (the trigger among them). */
  thread?: readonly RawEvent[] | undefined;
  /** Most attachments to take; the mention's own and the replied-to come first, then the thread's newest. */
  max: number;
}

export interface Gathered {
  /** In the order the model reads them: the thread's (oldest first), the replied-to, the mention's own. */
  refs: AttachmentRef[];
  /** Attachments left out over `max`. */
  leftOut: number;
}

/** The thread's attachments after the bot's last message there, up to (not including) the trigger. */
export function threadAttachments(
  thread: readonly RawEvent[],
  triggerId: string | undefined,
  botUserId: string,
): AttachmentRef[] {
  let out: AttachmentRef[] = [];
  for (const e of thread) {
    if (e.event_id === triggerId) break;
    if (e.sender === botUserId && e.type === 'm.room.message' && relationOf(e.content).relType !== 'm.replace') {
      out = [];
      continue;
    }
    const ref = attachmentOf(e);
    if (ref) out.push(ref);
  }
  return out;
}

export function gatherAttachments(input: GatherInput): Gathered {
  const own = input.trigger ? attachmentOf(input.trigger) : undefined;
  const replied = input.repliedTo ? attachmentOf(input.repliedTo) : undefined;
  const inThread = input.thread ? threadAttachments(input.thread, input.trigger?.event_id, input.botUserId) : [];
  // By priority: what the person pointed at first, then the thread from its newest.
  const ranked: AttachmentRef[] = [];
  for (const ref of [own, replied, ...inThread.slice().reverse()])
    if (ref && !ranked.some((r) => r.eventId === ref.eventId)) ranked.push(ref);
  const kept = new Set(ranked.slice(0, input.max).map((r) => r.eventId));
  const ordered = [...inThread, ...(replied ? [replied] : []), ...(own ? [own] : [])].filter((r, i, all) => {
    return kept.has(r.eventId) && all.findIndex((x) => x.eventId === r.eventId) === i;
  });
  return { refs: ordered, leftOut: ranked.length - kept.size };
}
