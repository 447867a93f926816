// Builds the chat messages a bot sends to its model from room or thread events: edits applied,
// redactions and commands dropped, `!reset` as a boundary, speakers named, within a token budget.
import { ATTACHMENT_TYPES, attachmentCaption } from '../attachments/attachment-event.ts';
import type { ChatImage } from '../inference/types.ts';
import { relationOf, stripReplyFallback } from './mentions.ts';
import type { ChatMessage, RawEvent } from './types.ts';

export interface Participant {
  userId: string;
  displayName: string;
  /** Set for bots: the model reference the bot runs. */
  model?: string;
}

export interface ContextOptions {
  bot: { userId: string; displayName: string; systemPrompt: string };
  /** Everyone in the room, for names and the roster line. */
  participants: readonly Participant[];
  /** The event being answered; later events are left out. */
  triggerId?: string;
  /** Most history messages (the trigger included). */
  maxMessages: number;
  /** Token budget for the system prompt and history together. */
  maxTokens: number;
  /** Tokens the model's chat template adds around each message, counted against the budget. Default 0. */
  messageOverheadTokens?: number;
  countTokens: (text: string) => number | Promise<number>;
  /** What the request's attachments give the model: added to the trigger's message (the newest one). */
  attach?: { text: string; images: ChatImage[] } | undefined;
}

export const RESET_COMMAND = '!reset';

export function renderSystemPrompt(template: string, displayName: string): string {
  return template.replace(/\{display_name\}/g, displayName);
}

/** One line naming who is in the room and which bot runs which model. */
export function rosterLine(participants: readonly Participant[]): string {
  const people = participants.filter((p) => p.model === undefined).map((p) => p.displayName);
  const bots = participants.filter((p) => p.model !== undefined).map((p) => `${p.displayName} (${p.model})`);
  const parts: string[] = [];
  if (people.length) parts.push(`people: ${people.join(', ')}`);
  if (bots.length) parts.push(`AI assistants: ${bots.join(', ')}`);
  return `In this room: ${parts.join('; ')}. Messages from others are prefixed with the speaker's name.`;
}

export interface TextMessage {
  eventId: string;
  sender: string;
  body: string;
  ts: number;
}

/** Text messages in order with the latest edit of each applied; edits, redacted events and notices removed. */
export function effectiveMessages(events: readonly RawEvent[]): TextMessage[] {
  const redacted = new Set<string>();
  const edits = new Map<string, Array<{ body: string; ts: number; sender: string }>>();
  for (const e of events) {
    if (e.type === 'm.room.redaction') {
      const target = e.redacts ?? (typeof e.content.redacts === 'string' ? e.content.redacts : undefined);
      if (target) redacted.add(target);
    }
    if (e.unsigned?.redacted_because) redacted.add(e.event_id);
    if (e.type !== 'm.room.message') continue;
    const rel = relationOf(e.content);
    if (rel.relType !== 'm.replace' || !rel.eventId) continue;
    const next = e.content['m.new_content'] as Record<string, unknown> | undefined;
    if (!next || typeof next.body !== 'string') continue;
    const list = edits.get(rel.eventId) ?? [];
    list.push({ body: next.body, ts: e.origin_server_ts, sender: e.sender });
    edits.set(rel.eventId, list);
  }
  const out: TextMessage[] = [];
  for (const e of events) {
    if (e.type !== 'm.room.message' || redacted.has(e.event_id)) continue;
    if (relationOf(e.content).relType === 'm.replace') continue;
    if (e.content.msgtype === 'm.notice' || typeof e.content.body !== 'string') continue;
    // Only the original sender may edit a message (spec: edits from others are ignored); the latest wins.
    let body = attachmentLine(e.content) ?? e.content.body;
    let latest = -Infinity;
    for (const ed of edits.get(e.event_id) ?? []) {
      if (ed.sender === e.sender && ed.ts >= latest) {
        latest = ed.ts;
        body = ed.body;
      }
    }
    out.push({ eventId: e.event_id, sender: e.sender, body: stripReplyFallback(body).trim(), ts: e.origin_server_ts });
  }
  return out;
}

/** An image or file in the history as the model reads it: `[image cat.png] its caption`; undefined for text. */
export function attachmentLine(content: Record<string, unknown>): string | undefined {
  const kind = typeof content.msgtype === 'string' ? ATTACHMENT_TYPES.get(content.msgtype) : undefined;
  if (!kind) return undefined;
  const caption = attachmentCaption(content);
  const name = caption === undefined ? content.body : content.filename;
  return `[${kind} ${typeof name === 'string' ? name : ''}]${caption ? ` ${caption}` : ''}`;
}

/** Messages after the last `!reset`, up to and including the trigger; other commands dropped. */
export function conversation(messages: readonly TextMessage[], triggerId?: string): TextMessage[] {
  return readConversation(messages, triggerId).messages;
}

/** The conversation, and whether a `!reset` at or before the trigger began it. */
function readConversation(
  messages: readonly TextMessage[],
  triggerId?: string,
): { messages: TextMessage[]; reset: boolean } {
  let out: TextMessage[] = [];
  let reset = false;
  for (const m of messages) {
    if (m.body.toLowerCase() === RESET_COMMAND || m.body.toLowerCase().startsWith(`${RESET_COMMAND} `)) {
      out = [];
      reset = true;
    } else if (!m.body.startsWith('!') && m.body.length > 0) out.push(m);
    if (m.eventId === triggerId) break;
  }
  return { messages: out, reset };
}

/**
 * Whether events older than these (oldest first, the trigger among them) could change the context of a reply
 * of at most `maxMessages` messages. They cannot when a `!reset` at or before the trigger ends all that came
 * earlier, or when `maxMessages` messages already lead up to the trigger: an older event is an older message,
 * or an edit or redaction of one (those come after what they change), and older messages are left out anyway.
 */
export function historyComplete(events: readonly RawEvent[], triggerId: string, maxMessages: number): boolean {
  const { messages, reset } = readConversation(effectiveMessages(events), triggerId);
  return reset || messages.length >= maxMessages;
}

export function toChatMessage(m: TextMessage, botUserId: string, nameOf: (userId: string) => string): ChatMessage {
  if (m.sender === botUserId) return { role: 'assistant', content: m.body };
  const name = nameOf(m.sender);
  return { role: 'user', content: `${name}: ${m.body}`, name };
}

/** The system prompt plus as much recent history as fits the message and token budgets (oldest dropped first). */
export async function buildContext(events: readonly RawEvent[], opts: ContextOptions): Promise<ChatMessage[]> {
  const names = new Map(opts.participants.map((p) => [p.userId, p.displayName]));
  const nameOf = (uid: string): string => names.get(uid) ?? (uid.slice(1).split(':')[0] || uid);
  const system: ChatMessage = {
    role: 'system',
    content: `${renderSystemPrompt(opts.bot.systemPrompt, opts.bot.displayName)}\n${rosterLine(opts.participants)}`,
  };
  const convo = conversation(effectiveMessages(events), opts.triggerId);
  const overhead = opts.messageOverheadTokens ?? 0;
  let budget = opts.maxTokens - (await opts.countTokens(system.content)) - overhead;
  const kept: ChatMessage[] = [];
  let attached = false;
  for (let i = convo.length - 1; i >= 0 && kept.length < opts.maxMessages; i--) {
    const msg = toChatMessage(convo[i]!, opts.bot.userId, nameOf);
    if (opts.attach && i === convo.length - 1 && convo[i]!.eventId === opts.triggerId) {
      msg.content += opts.attach.text;
      if (opts.attach.images.length > 0) msg.images = opts.attach.images;
      attached = true;
    }
    const cost = (await opts.countTokens(msg.content)) + overhead;
    // The newest message (the one being answered) is always sent, even over budget.
    if (kept.length > 0 && cost > budget) break;
    budget -= cost;
    kept.unshift(msg);
  }
  // The trigger is not a message of the history (a command): what was attached is a message of its own.
  if (opts.attach && !attached)
    kept.push({
      role: 'user',
      content: opts.attach.text.trim(),
      ...(opts.attach.images.length ? { images: opts.attach.images } : {}),
    });
  return [system, ...kept];
}

/** Tokens of the system prompt and of the question (the last message), to check the question fits before sending it. */
export async function questionCost(
  messages: readonly ChatMessage[],
  countTokens: (text: string) => number | Promise<number>,
): Promise<{ systemTokens: number; questionTokens: number }> {
  const system = messages[0]?.role === 'system' ? messages[0] : undefined;
  const question = messages.length > (system ? 1 : 0) ? messages[messages.length - 1] : undefined;
  return {
    systemTokens: system ? await countTokens(system.content) : 0,
    questionTokens: question ? await countTokens(question.content) : 0,
  };
}
