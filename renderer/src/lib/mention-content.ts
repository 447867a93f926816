// The composer's parts (text and mention pills) to an m.room.message content exactly as Element writes
// it: body with the display names as plain text, formatted_body with matrix.to links, m.mentions.
import { composerMarkdownToHtml } from './markdown.ts';

export type ComposerPart = { kind: 'text'; text: string } | { kind: 'pill'; userId: string; displayName: string };

export interface MessageContent {
  msgtype: 'm.text';
  body: string;
  format?: 'org.matrix.custom.html';
  formatted_body?: string;
  'm.mentions': { user_ids?: string[] };
  'm.relates_to'?: Record<string, unknown>;
}

export interface SendContext {
  /** Reply to this event; its sender is mentioned too (as Element does). */
  replyTo?: { eventId: string; sender: string };
  /** Send into this thread (root event id); the reply points at the thread's latest event. */
  thread?: { rootId: string; latestEventId: string };
}

export function permalinkForUser(userId: string): string {
  return `https://matrix.to/#/${userId}`;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// Private-use characters mark where pills go while Markdown renders the text around them.
const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';
const MARK_RE = /\uE000(\d+)\uE001/g;

/** Element drops a single wrapping paragraph and the trailing newline. */
function unwrapParagraph(html: string): string {
  const trimmed = html.trim();
  const m = /^<p>([\s\S]*)<\/p>$/.exec(trimmed);
  if (m && !m[1]!.includes('<p>')) return m[1]!;
  return trimmed;
}

function plainHtml(text: string): string {
  return escapeHtml(text).replace(/\n/g, '<br>');
}

/** Builds the content; returns undefined when there is nothing to send. */
export function buildMessageContent(parts: ComposerPart[], context: SendContext = {}): MessageContent | undefined {
  const body = parts.map((p) => (p.kind === 'text' ? p.text : p.displayName)).join('');
  if (body.trim() === '') return undefined;
  const pills = parts.filter((p): p is Extract<ComposerPart, { kind: 'pill' }> => p.kind === 'pill');
  const source = parts
    .map((p) => (p.kind === 'text' ? p.text : `${MARK_OPEN}${pills.indexOf(p)}${MARK_CLOSE}`))
    .join('');
  const html = unwrapParagraph(composerMarkdownToHtml(source.trim())).replace(MARK_RE, (_all, index: string) => {
    const pill = pills[Number(index)]!;
    return `<a href="${escapeHtml(permalinkForUser(pill.userId))}">${escapeHtml(pill.displayName)}</a>`;
  });

  const userIds: string[] = [];
  for (const p of pills) if (!userIds.includes(p.userId)) userIds.push(p.userId);
  if (context.replyTo && !userIds.includes(context.replyTo.sender)) userIds.push(context.replyTo.sender);

  const content: MessageContent = {
    msgtype: 'm.text',
    body: body.trim(),
    'm.mentions': userIds.length > 0 ? { user_ids: userIds } : {},
  };
  // Plain text with no pills and no Markdown goes without formatted_body, as Element sends it.
  if (pills.length > 0 || html !== plainHtml(body.trim())) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = html;
  }
  const rel = relatesTo(context);
  if (rel) content['m.relates_to'] = rel;
  return content;
}

/** The relation a message sent in this context carries: into the thread, or as a reply; none otherwise. */
export function relatesTo(context: SendContext): Record<string, unknown> | undefined {
  if (context.thread)
    return {
      rel_type: 'm.thread',
      event_id: context.thread.rootId,
      is_falling_back: !context.replyTo,
      'm.in_reply_to': { event_id: context.replyTo?.eventId ?? context.thread.latestEventId },
    };
  return context.replyTo ? { 'm.in_reply_to': { event_id: context.replyTo.eventId } } : undefined;
}

/** Text that goes after a pill: Element puts ": " after a pill that starts the message, else a space. */
export function pillSuffix(atStart: boolean): string {
  return atStart ? ': ' : ' ';
}
