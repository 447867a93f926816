// Pure accounting of a room's timeline for the fault suites: which mentions got how many replies, and
// whether each reply ended (a final edit, the bot's success or error ending) or was left half-finished.
export interface TimelineEvent {
  event_id: string;
  sender: string;
  type: string;
  origin_server_ts?: number;
  content?: Record<string, unknown>;
  redacts?: string;
}

export const FINAL_KEY = 'org.agentroom.final';

export interface ReplyRecord {
  replyId: string;
  /** The first message or an edit carried the final marker. */
  final: boolean;
  /** The text a reader sees now (the newest edit's m.new_content, else the first message). */
  text: string;
  edits: number;
}

export interface MentionOutcome {
  mentionId: string;
  replies: ReplyRecord[];
  /** m.notice answers (rate limit) that point at the mention. */
  notices: string[];
}

export interface Tally {
  mentions: number;
  /** Mentions with no reply at all, or whose only reply never got its final edit. */
  lost: number;
  /** Mentions with more than one reply message from the same bot. */
  duplicated: number;
  /** Replies left without a final (or error) edit. */
  halfFinished: number;
  /** Replies whose final text is the bot's error ending. */
  errorEndings: number;
}

function relatesTo(content: Record<string, unknown> | undefined): {
  relType?: string;
  eventId?: string;
  inReplyTo?: string;
} {
  const rel = content?.['m.relates_to'];
  if (typeof rel !== 'object' || rel === null) return {};
  const r = rel as Record<string, unknown>;
  const reply = r['m.in_reply_to'];
  return {
    ...(typeof r.rel_type === 'string' ? { relType: r.rel_type } : {}),
    ...(typeof r.event_id === 'string' ? { eventId: r.event_id } : {}),
    ...(typeof reply === 'object' && reply !== null && typeof (reply as Record<string, unknown>).event_id === 'string'
      ? { inReplyTo: (reply as Record<string, string>).event_id }
      : {}),
  };
}

function bodyOf(content: Record<string, unknown> | undefined): string {
  return typeof content?.body === 'string' ? content.body : '';
}

/** What each mention received from `botUserId`, in timeline order (events oldest first). */
export function outcomes(
  events: readonly TimelineEvent[],
  mentionIds: readonly string[],
  botUserId: string,
): MentionOutcome[] {
  const redacted = new Set(
    events.filter((e) => e.type === 'm.room.redaction' && e.redacts).map((e) => e.redacts as string),
  );
  const fromBot = events.filter(
    (e) => e.sender === botUserId && e.type === 'm.room.message' && !redacted.has(e.event_id),
  );
  return mentionIds.map((mentionId) => {
    const firsts = fromBot.filter((e) => {
      const rel = relatesTo(e.content);
      return rel.relType !== 'm.replace' && rel.inReplyTo === mentionId && e.content?.msgtype !== 'm.notice';
    });
    const notices = fromBot
      .filter((e) => relatesTo(e.content).inReplyTo === mentionId && e.content?.msgtype === 'm.notice')
      .map((e) => bodyOf(e.content));
    const replies = firsts.map((first): ReplyRecord => {
      const edits = fromBot.filter((e) => {
        const rel = relatesTo(e.content);
        return rel.relType === 'm.replace' && rel.eventId === first.event_id;
      });
      const last = edits.at(-1);
      const newContent = last?.content?.['m.new_content'] as Record<string, unknown> | undefined;
      return {
        replyId: first.event_id,
        final: first.content?.[FINAL_KEY] === true || edits.some((e) => e.content?.[FINAL_KEY] === true),
        text: last ? bodyOf(newContent) : bodyOf(first.content),
        edits: edits.length,
      };
    });
    return { mentionId, replies, notices };
  });
}

export const ERROR_ENDING = /⚠️|could not be completed|_\(stopped/;

export function tally(list: readonly MentionOutcome[]): Tally {
  let lost = 0;
  let duplicated = 0;
  let halfFinished = 0;
  let errorEndings = 0;
  for (const o of list) {
    if (o.replies.length > 1) duplicated++;
    if (!o.replies.some((r) => r.final)) lost++;
    for (const r of o.replies) {
      if (!r.final) halfFinished++;
      else if (ERROR_ENDING.test(r.text)) errorEndings++;
    }
  }
  return { mentions: list.length, lost, duplicated, halfFinished, errorEndings };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
