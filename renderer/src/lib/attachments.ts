// Attachments as the chat window sends and shows them: an m.image or m.file event for an uploaded file (its caption,
// MSC2530, is the composer's text with its mentions, so a caption can address a bot), and what a received one holds.
import type { EncryptedFile } from './attachment-crypto.ts';
import { relatesTo, type MessageContent, type SendContext } from './mention-content.ts';

export interface FileFacts {
  name: string;
  mimetype: string;
  size: number;
  /** An image's size in pixels, when it could be read. */
  w?: number;
  h?: number;
}

/** Images the window previews and sends as m.image (what browsers and the bots' vision models both read). */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export function isPreviewableImage(mimetype: string): boolean {
  return IMAGE_TYPES.has(mimetype.toLowerCase());
}

export type MediaLocation = { url: string } | { file: EncryptedFile };

/** The event content for an uploaded file: with a caption its text and mentions, else the file's name as the body. */
export function attachmentMessage(
  facts: FileFacts,
  where: MediaLocation,
  caption: MessageContent | undefined,
  context: SendContext = {},
): Record<string, unknown> {
  const msgtype = isPreviewableImage(facts.mimetype) ? 'm.image' : 'm.file';
  const info = {
    mimetype: facts.mimetype,
    size: facts.size,
    ...(facts.w && facts.h ? { w: facts.w, h: facts.h } : {}),
  };
  if (caption) return { ...caption, msgtype, filename: facts.name, info, ...where };
  const rel = relatesTo(context);
  return {
    msgtype,
    body: facts.name,
    filename: facts.name,
    info,
    ...where,
    'm.mentions': context.replyTo ? { user_ids: [context.replyTo.sender] } : {},
    ...(rel ? { 'm.relates_to': rel } : {}),
  };
}

/** What a received m.image/m.file shows: the file's name, its caption, type and size, and where its bytes are. */
export interface ShownAttachment {
  kind: 'image' | 'file';
  name: string;
  caption?: string;
  mimetype?: string;
  size?: number;
  w?: number;
  h?: number;
  mxc: string;
  file?: EncryptedFile;
}

export function shownAttachment(content: Record<string, unknown>): ShownAttachment | undefined {
  const kind = content.msgtype === 'm.image' ? 'image' : content.msgtype === 'm.file' ? 'file' : undefined;
  if (!kind) return undefined;
  const file = content.file as EncryptedFile | undefined;
  const mxc = typeof file?.url === 'string' ? file.url : typeof content.url === 'string' ? content.url : undefined;
  if (!mxc?.startsWith('mxc://')) return undefined;
  const body = typeof content.body === 'string' ? content.body : '';
  const filename = typeof content.filename === 'string' && content.filename ? content.filename : undefined;
  const info = (content.info ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const shown: ShownAttachment = { kind, name: filename ?? (body || kind), mxc };
  if (filename && body && body !== filename) shown.caption = body;
  if (typeof info.mimetype === 'string') shown.mimetype = info.mimetype;
  const [size, w, h] = [num(info.size), num(info.w), num(info.h)];
  if (size !== undefined) shown.size = size;
  if (w !== undefined) shown.w = w;
  if (h !== undefined) shown.h = h;
  if (file) shown.file = file;
  return shown;
}

/**
 * The image a reply is about, to show beside its quote: the message it replies to when that is an image, else the
 * image that message itself replies to (a question asked as a reply to a picture, answered by a bot).
 */
export function repliedImage(
  msg: { replyTo?: string | undefined },
  byId: ReadonlyMap<string, { content: Record<string, unknown>; replyTo?: string | undefined }>,
): ShownAttachment | undefined {
  const quoted = msg.replyTo ? byId.get(msg.replyTo) : undefined;
  if (!quoted) return undefined;
  const direct = shownAttachment(quoted.content);
  if (direct) return direct.kind === 'image' ? direct : undefined;
  const further = quoted.replyTo ? byId.get(quoted.replyTo) : undefined;
  const image = further ? shownAttachment(further.content) : undefined;
  return image?.kind === 'image' ? image : undefined;
}
