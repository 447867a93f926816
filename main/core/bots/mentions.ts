// Who an event addresses: explicit mentions (m.mentions, Element pills, plain @names) in the order they
// appear, then implicit ones (a reply to a bot, a thread a bot is in, a DM with a bot) for people only.
import { ATTACHMENT_TYPES, attachmentCaption } from '../attachments/attachment-event.ts';
import { FINAL_KEY, TURN_KEY, type RawEvent, type TurnInfo } from './types.ts';

export interface MentionTarget {
  id: string;
  userId: string;
  displayName: string;
}

export interface AddressContext {
  bots: readonly MentionTarget[];
  /** Sender of the event this one replies to (m.in_reply_to), when known. */
  inReplyToSender?: string;
  /** User ids of the bots that took part in this event's thread, in the order they joined it. */
  threadParticipants?: readonly string[];
  /** The bot this room is a direct chat with, when it is one. */
  directBotUserId?: string;
  allowDirectMessages?: boolean;
}

/** The parts of a message that decide who it addresses; undefined when the event can trigger nothing. */
export interface MessageView {
  /** The event a reply must answer and be recorded under (for a bot's final edit: the original message). */
  triggerId: string;
  sender: string;
  body: string;
  formattedBody?: string;
  mentionedUserIds: string[];
  inReplyTo?: string;
  threadRoot?: string;
  turn?: TurnInfo;
  fromBot: boolean;
}

const TEXT_TYPES = new Set(['m.text', 'm.emote']);

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Reads this app's turn marker from a message's content. */
export function readTurn(content: Record<string, unknown>): TurnInfo | undefined {
  const t = asRecord(content[TURN_KEY]);
  if (!t || typeof t.origin !== 'string' || typeof t.hop !== 'number') return undefined;
  const turn: TurnInfo = { origin: t.origin, hop: t.hop };
  if (typeof t.thread === 'string') turn.thread = t.thread;
  return turn;
}

export function relationOf(content: Record<string, unknown>): {
  relType?: string;
  eventId?: string;
  inReplyTo?: string;
  isFallingBack?: boolean;
} {
  const rel = asRecord(content['m.relates_to']);
  if (!rel) return {};
  const reply = asRecord(rel['m.in_reply_to']);
  return {
    relType: typeof rel.rel_type === 'string' ? rel.rel_type : undefined,
    eventId: typeof rel.event_id === 'string' ? rel.event_id : undefined,
    inReplyTo: reply && typeof reply.event_id === 'string' ? reply.event_id : undefined,
    isFallingBack: rel.is_falling_back === true,
  };
}

/** Removes the quoted reply fallback clients put at the start of body (spec: lines beginning "> "). */
export function stripReplyFallback(body: string): string {
  if (!body.startsWith('> ')) return body;
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i < lines.length && lines[i] === '') i++;
  return lines.slice(i).join('\n');
}

export function stripFormattedFallback(html: string): string {
  return html.replace(/<mx-reply>[\s\S]*?<\/mx-reply>/gi, '');
}

/**
 * The message an event carries, if it may address anyone. Edits, redactions, non-text events (but images and files
 * with a caption) and notices from people give nothing; a bot's final edit gives its complete text (bots stream replies,
 * so only the final edit holds the mentions of other bots).
 */
export function messageView(event: RawEvent, botUserIds: ReadonlySet<string>): MessageView | undefined {
  if (event.type !== 'm.room.message') return undefined;
  const fromBot = botUserIds.has(event.sender);
  let content = event.content;
  let triggerId = event.event_id;
  const rel = relationOf(content);
  if (rel.relType === 'm.replace') {
    const next = asRecord(content['m.new_content']);
    if (!fromBot || content[FINAL_KEY] !== true || !next || !rel.eventId) return undefined;
    triggerId = rel.eventId;
    content = { ...next, [TURN_KEY]: content[TURN_KEY] ?? next[TURN_KEY], 'm.relates_to': content['m.relates_to'] };
  } else if (fromBot && content[FINAL_KEY] !== true) {
    // A bot's streamed reply is incomplete until its final edit; its notices address nobody.
    return undefined;
  }
  const msgtype = content.msgtype;
  if (typeof msgtype !== 'string' || typeof content.body !== 'string') return undefined;
  // An image or a file addresses whoever its caption names (MSC2530: a body that differs from the filename).
  const captioned = ATTACHMENT_TYPES.has(msgtype) && attachmentCaption(content) !== undefined;
  if (!TEXT_TYPES.has(msgtype) && !(msgtype === 'm.notice' && fromBot) && !captioned) return undefined;
  const mentions = asRecord(content['m.mentions']);
  const ids = Array.isArray(mentions?.user_ids)
    ? mentions.user_ids.filter((u): u is string => typeof u === 'string')
    : [];
  const original = relationOf(event.content);
  const view: MessageView = {
    triggerId,
    sender: event.sender,
    body: stripReplyFallback(content.body),
    mentionedUserIds: ids,
    fromBot,
  };
  if (content.format === 'org.matrix.custom.html' && typeof content.formatted_body === 'string') {
    view.formattedBody = stripFormattedFallback(content.formatted_body);
  }
  if (original.inReplyTo && !original.isFallingBack) view.inReplyTo = original.inReplyTo;
  if (original.relType === 'm.thread' && original.eventId) view.threadRoot = original.eventId;
  const turn = readTurn(content);
  if (turn) view.turn = turn;
  if (!view.threadRoot && turn?.thread) view.threadRoot = turn.thread;
  return view;
}

const PILL = /<a\s[^>]*href\s*=\s*["']https:\/\/matrix\.to\/#\/(@[^"'?/]+)[^"']*["'][^>]*>[\s\S]*?<\/a>/gi;

function decodeEntities(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Text to scan in reading order: pills become their user ids, other markup goes. */
export function scanText(view: Pick<MessageView, 'body' | 'formattedBody'>): string {
  if (view.formattedBody === undefined) return view.body;
  const withPills = view.formattedBody.replace(PILL, (_m, uid: string) => ` ${decodeURIComponent(uid)} `);
  return decodeEntities(withPills.replace(/<[^>]*>/g, ' '));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Bots named in text (full user id, @localpart, @display name), case-insensitive and word-bounded, in order. */
export function textMentions(text: string, bots: readonly MentionTarget[]): MentionTarget[] {
  const hits: Array<{ at: number; len: number; bot: MentionTarget }> = [];
  for (const bot of bots) {
    const localpart = bot.userId.slice(1).split(':')[0] ?? '';
    const names = [bot.userId, `@${localpart}`, `@${bot.displayName}`].filter((n) => n.length > 1);
    for (const name of names) {
      const re = new RegExp(`(?<![\\w@.])${escapeRegExp(name)}(?![\\w-])`, 'giu');
      for (const m of text.matchAll(re)) hits.push({ at: m.index, len: m[0].length, bot });
    }
  }
  // At one position the longest name wins (@Qwen Coder over @Qwen); overlapping shorter hits are dropped.
  hits.sort((a, b) => a.at - b.at || b.len - a.len);
  const out: MentionTarget[] = [];
  let end = -1;
  for (const h of hits) {
    if (h.at < end) continue;
    end = h.at + h.len;
    if (!out.includes(h.bot)) out.push(h.bot);
  }
  return out;
}

/** The bots an event addresses, in the order they are mentioned; never the sender itself. */
export function addressedBots(view: MessageView, ctx: AddressContext): MentionTarget[] {
  const byUser = new Map(ctx.bots.map((b) => [b.userId, b]));
  const out: MentionTarget[] = [];
  const add = (b: MentionTarget | undefined): void => {
    if (b && b.userId !== view.sender && !out.includes(b)) out.push(b);
  };
  for (const b of textMentions(scanText(view), ctx.bots)) add(b);
  for (const uid of view.mentionedUserIds) add(byUser.get(uid));
  // Implicit addressing only for people: a bot's reply is itself a reply/thread message, and following
  // those for bots would make two bots answer each other forever.
  if (view.fromBot) return out;
  if (ctx.inReplyToSender) add(byUser.get(ctx.inReplyToSender));
  if (out.length > 0) return out;
  for (const uid of ctx.threadParticipants ?? []) add(byUser.get(uid));
  if (out.length === 0 && ctx.allowDirectMessages && ctx.directBotUserId) add(byUser.get(ctx.directBotUserId));
  return out;
}

/**
 * The message without its mention of the bot (its user id, @localpart, @display name, or "Name:" in front, as a
 * client's pill leaves it), for a bot that runs a pipeline on what it was asked.
 */
export function withoutMention(body: string, bot: Pick<MentionTarget, 'userId' | 'displayName'>): string {
  const localpart = bot.userId.slice(1).split(':')[0] ?? '';
  let text = body;
  // Longest first: @Triage Bot before @triage.
  const names = [bot.userId, `@${localpart}`, `@${bot.displayName}`].sort((x, y) => y.length - x.length);
  for (const name of names)
    text = text.replace(new RegExp(`(?<![\\w@.])${escapeRegExp(name)}(?![\\w-])\\s*[:,]?`, 'giu'), ' ');
  // A pill's plain body leaves the bare display name in front: "Triage: …".
  text = text.replace(new RegExp(`^\\s*${escapeRegExp(bot.displayName)}\\s*[:,]`, 'iu'), ' ');
  return text
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/^[ \t]+|[ \t]+$/gm, '')
    .trim();
}
