// One attachment from its event to what a model reads: downloaded under the cap, decrypted and checked when it is
// encrypted, its type taken from its bytes, then a document's text or an image ready for a vision model. Nothing
// touches the disk. Each failure is an AttachmentError whose message the room gets.
import type { ChatImage } from '../inference/types.ts';
import { AttachmentError } from './attachment-errors.ts';
import type { AttachmentRef } from './attachment-event.ts';
import { readAs } from './attachment-type.ts';
import { docxText, htmlText, pdfText, plainText } from './documents.ts';
import { prepareImage } from './images.ts';
import { decryptAttachment } from './media-crypto.ts';
import { downloadMedia, type MediaSource } from './media-download.ts';

export interface ReadOptions {
  maxBytes: number;
  maxImageSide: number;
  signal?: AbortSignal | undefined;
}

export type DocumentFormat = 'pdf' | 'docx' | 'html' | 'markdown' | 'text';

export type ReadResult =
  | { kind: 'document'; ref: AttachmentRef; format: DocumentFormat; text: string }
  | { kind: 'image'; ref: AttachmentRef; image: ChatImage };

export interface ReadAll {
  results: ReadResult[];
  problems: AttachmentError[];
}

/** The attachment's bytes as its sender wrote them: downloaded, and decrypted when it travelled encrypted. */
export async function attachmentBytes(source: MediaSource, ref: AttachmentRef, o: ReadOptions): Promise<Uint8Array> {
  const bytes = await downloadMedia(source, {
    mxc: ref.mxc,
    name: ref.name,
    declaredSize: ref.size,
    maxBytes: o.maxBytes,
    signal: o.signal,
  });
  return ref.encrypted ? decryptAttachment(bytes, ref.encrypted, ref.name) : bytes;
}

export async function readAttachment(source: MediaSource, ref: AttachmentRef, o: ReadOptions): Promise<ReadResult> {
  const bytes = await attachmentBytes(source, ref, o);
  const how = await readAs(bytes, { name: ref.name, mimetype: ref.mimetype, kind: ref.kind });
  switch (how.as) {
    case 'image':
      return { kind: 'image', ref, image: await prepareImage(bytes, ref.name, o.maxImageSide) };
    case 'pdf':
      return { kind: 'document', ref, format: 'pdf', text: await pdfText(bytes, ref.name) };
    case 'docx':
      return { kind: 'document', ref, format: 'docx', text: await docxText(bytes, ref.name) };
    case 'html':
      return { kind: 'document', ref, format: 'html', text: htmlText(new TextDecoder('utf-8').decode(bytes)) };
    case 'text':
      return { kind: 'document', ref, format: how.format === 'markdown' ? 'markdown' : 'text', text: plainText(bytes) };
  }
}

/** Every attachment, one after the other (each held in memory only while it is read); problems kept, not thrown. */
export async function readAttachments(
  source: MediaSource,
  refs: readonly AttachmentRef[],
  o: ReadOptions,
): Promise<ReadAll> {
  const out: ReadAll = { results: [], problems: [] };
  for (const ref of refs) {
    try {
      out.results.push(await readAttachment(source, ref, o));
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      out.problems.push(
        err instanceof AttachmentError
          ? err
          : new AttachmentError('Damaged', `${ref.name} could not be read: ${(err as Error).message}.`, { cause: err }),
      );
    }
  }
  return out;
}
