// The attachments a reply reads: gathered for the bot from the mention, the event it replies to and its thread
// (attachments/gather.ts), read in memory (attachments/read-attachment.ts), then given to the model as part of the
// person's message: documents' text cut to what the prompt can hold (the cut said in the answer), images for a model
// that can see. Whatever cannot be read is one notice in the room, and the model is not asked.
import type { AttachmentSettings } from '../../common/settings-attachments.ts';
import type { AttachmentError } from '../attachments/attachment-errors.ts';
import { gatherAttachments } from '../attachments/gather.ts';
import type { MediaSource } from '../attachments/media-download.ts';
import { readAttachments, type ReadResult } from '../attachments/read-attachment.ts';
import type { ChatImage } from '../inference/types.ts';
import type { MessageView } from './mentions.ts';
import type { RawEvent } from './types.ts';

/** What reading attachments needs of the bot's connection (BotConnection has it). */
export interface AttachmentConnection {
  readonly userId: string;
  readonly media: MediaSource;
  fetchEvent(roomId: string, eventId: string): Promise<RawEvent | undefined>;
}

export interface FoundAttachments {
  results: ReadResult[];
  problems: AttachmentError[];
  /** Attachments over attachments.maxPerRequest, not read. */
  leftOut: number;
}

/**
 * Reads what the mention brings; undefined when it brings nothing (or comes from a bot). `events`: the history the
 * reply is built from, the thread's alone when the mention is in a thread.
 */
export async function readMentionAttachments(a: {
  conn: AttachmentConnection;
  roomId: string;
  view: MessageView;
  events: readonly RawEvent[];
  settings: AttachmentSettings;
  signal?: AbortSignal | undefined;
}): Promise<FoundAttachments | undefined> {
  const { conn, roomId, view } = a;
  if (view.fromBot) return undefined;
  const trigger =
    a.events.find((e) => e.event_id === view.triggerId) ?? (await conn.fetchEvent(roomId, view.triggerId));
  const repliedTo = view.inReplyTo ? await conn.fetchEvent(roomId, view.inReplyTo) : undefined;
  const gathered = gatherAttachments({
    botUserId: conn.userId,
    trigger,
    repliedTo,
    thread: view.threadRoot ? a.events : undefined,
    max: a.settings.maxPerRequest,
  });
  if (gathered.refs.length === 0) return undefined;
  const read = await readAttachments(conn.media, gathered.refs, {
    maxBytes: a.settings.maxBytes,
    maxImageSide: a.settings.maxImageSide,
    signal: a.signal,
  });
  return { ...read, leftOut: gathered.leftOut };
}

/** The one notice for attachments that could not be read: each problem on its own line. */
export function problemNotice(problems: readonly AttachmentError[]): string {
  return problems.map((p) => `⚠️ ${p.message}`).join('\n');
}

export const imagesOf = (results: readonly ReadResult[]): ChatImage[] =>
  results.flatMap((r) => (r.kind === 'image' ? [r.image] : []));

const FORMAT_NAMES: Record<string, string> = {
  pdf: 'PDF',
  docx: 'Word document',
  html: 'web page',
  markdown: 'Markdown file',
  text: 'text file',
};

type Count = (text: string) => number | Promise<number>;

/** The longest start of `text` (cut at a line or word end) within `maxTokens`. */
export async function cutToTokens(text: string, maxTokens: number, count: Count): Promise<string> {
  let tokens = await count(text);
  if (tokens <= maxTokens) return text;
  let cut = text;
  for (let i = 0; i < 8 && tokens > maxTokens && cut.length > 0; i++) {
    const chars = Math.floor(cut.length * (maxTokens / tokens) * 0.97);
    cut = cut.slice(0, Math.max(0, chars));
    const end = Math.max(cut.lastIndexOf('\n'), cut.lastIndexOf(' '));
    if (end > cut.length * 0.8) cut = cut.slice(0, end);
    tokens = await count(cut);
  }
  return tokens <= maxTokens ? cut : '';
}

/**
 * What the attachments add to the person's message, within `maxTokens`: each document's text between markers (in
 * order, each cut to what is left), a marker for each image; and the notes for the end of the answer (what was cut).
 */
export async function attachmentText(
  found: FoundAttachments,
  maxTokens: number,
  count: Count,
): Promise<{ text: string; notes: string[] }> {
  let text = '';
  const notes: string[] = [];
  let left = maxTokens;
  for (const r of found.results) {
    if (r.kind === 'image') {
      // Its caption is the message it came with, already in the history.
      const marker = `\n\n[Attached image "${r.ref.name}"]`;
      text += marker;
      left -= await count(marker);
      continue;
    }
    const open = `\n\n[Attached ${FORMAT_NAMES[r.format] ?? 'document'} "${r.ref.name}"]\n`;
    const close = `\n[End of "${r.ref.name}"]`;
    const room = left - (await count(open + close));
    const body = room > 0 ? await cutToTokens(r.text, room, count) : '';
    if (body.length < r.text.length) notes.push(cutNote(r.ref.name, body.length, r.text.length));
    const part = body ? `${open}${body}${close}` : `\n\n[Attached ${FORMAT_NAMES[r.format]} "${r.ref.name}": left out]`;
    text += part;
    left -= await count(part);
  }
  if (found.leftOut > 0)
    notes.push(
      `I read ${found.results.length} of the ${found.results.length + found.leftOut} attachments (the newest); ` +
        'attachments.maxPerRequest in the settings allows more.',
    );
  return { text, notes };
}

function cutNote(name: string, kept: number, total: number): string {
  if (kept === 0) return `${name} did not fit my model's context at all, so I answered without it.`;
  const share = Math.max(1, Math.floor((kept / total) * 100));
  return (
    `${name} was cut to fit my model's context: I read the first ${kept.toLocaleString('en')} of ` +
    `${total.toLocaleString('en')} characters (about ${share}%).`
  );
}

/** The answer with the notes about its attachments at its end. */
export function withNotes(text: string, notes: readonly string[]): string {
  return notes.length === 0 ? text : `${text}\n\n${notes.map((n) => `_(${n})_`).join('\n')}`;
}
