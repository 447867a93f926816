// What an `m.image` or `m.file` event says about its attachment: where the bytes are (a plain `url`, or an encrypted
// `file` with its key and hash), its name, declared type and size, and the caption (MSC2530: a `body` that differs
// from `filename`). Pure: read from the event's content alone.

/** The `file` of an encrypted attachment (Matrix spec, "Sending encrypted attachments"). */
export interface EncryptedFile {
  url: string;
  key: { kty: string; alg: string; k: string; ext?: boolean; key_ops?: string[] };
  iv: string;
  hashes: Record<string, string>;
  v: string;
}

export type AttachmentKind = 'image' | 'file';

export interface AttachmentRef {
  eventId: string;
  sender: string;
  kind: AttachmentKind;
  /** The file's name: `filename`, else a `body` that is not a caption, else one made from the kind. */
  name: string;
  /** The caption, when the event has one. */
  caption?: string;
  /** As the sender declared them (`info.mimetype`, `info.size`); the bytes decide in the end. */
  mimetype?: string;
  size?: number;
  /** The mxc:// URI to download: `url`, or `file.url` for an encrypted attachment. */
  mxc: string;
  encrypted?: EncryptedFile;
}

export const ATTACHMENT_TYPES: ReadonlyMap<string, AttachmentKind> = new Map([
  ['m.image', 'image'],
  ['m.file', 'file'],
]);

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The caption of an attachment event (MSC2530): its `body` when a separate `filename` names the file. */
export function attachmentCaption(content: Record<string, unknown>): string | undefined {
  const { body, filename } = content;
  if (typeof body !== 'string' || typeof filename !== 'string' || filename === '' || body === filename)
    return undefined;
  return body;
}

function encryptedFile(v: unknown): EncryptedFile | undefined {
  const f = asRecord(v);
  const key = asRecord(f?.key);
  const hashes = asRecord(f?.hashes);
  if (!f || !key || !hashes || typeof f.url !== 'string' || typeof f.iv !== 'string') return undefined;
  if (typeof key.k !== 'string' || typeof key.alg !== 'string' || typeof key.kty !== 'string') return undefined;
  const stringHashes = Object.fromEntries(Object.entries(hashes).filter(([, h]) => typeof h === 'string')) as Record<
    string,
    string
  >;
  return {
    url: f.url,
    key: {
      kty: key.kty,
      alg: key.alg,
      k: key.k,
      ...(typeof key.ext === 'boolean' ? { ext: key.ext } : {}),
      ...(Array.isArray(key.key_ops) ? { key_ops: key.key_ops.filter((o) => typeof o === 'string') } : {}),
    },
    iv: f.iv,
    hashes: stringHashes,
    v: typeof f.v === 'string' ? f.v : '',
  };
}

/** The attachment an event carries; undefined for any other event (edits and redacted events included). */
export function attachmentOf(event: {
  event_id: string;
  type: string;
  sender: string;
  content: Record<string, unknown>;
}): AttachmentRef | undefined {
  if (event.type !== 'm.room.message') return undefined;
  const c = event.content;
  const kind = typeof c.msgtype === 'string' ? ATTACHMENT_TYPES.get(c.msgtype) : undefined;
  if (!kind) return undefined;
  if (asRecord(c['m.relates_to'])?.rel_type === 'm.replace') return undefined;
  const encrypted = encryptedFile(c.file);
  const mxc = encrypted?.url ?? (typeof c.url === 'string' ? c.url : undefined);
  if (!mxc) return undefined;
  const caption = attachmentCaption(c);
  const info = asRecord(c.info);
  const name =
    typeof c.filename === 'string' && c.filename !== ''
      ? c.filename
      : typeof c.body === 'string' && c.body !== ''
        ? c.body
        : kind;
  const ref: AttachmentRef = { eventId: event.event_id, sender: event.sender, kind, name, mxc };
  if (caption !== undefined) ref.caption = caption;
  if (typeof info?.mimetype === 'string') ref.mimetype = info.mimetype;
  if (typeof info?.size === 'number' && Number.isFinite(info.size) && info.size >= 0) ref.size = info.size;
  if (encrypted) ref.encrypted = encrypted;
  return ref;
}
