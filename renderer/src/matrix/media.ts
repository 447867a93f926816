// Media for the chat window: files uploaded with progress (encrypted first in an encrypted room, so the homeserver
// only ever holds ciphertext), and received ones fetched through the authenticated media API with the access token
// (an <img> cannot send it) and decrypted in the page, shown through blob: URLs that are kept per file.
import type { MatrixClient } from 'matrix-js-sdk';
import { decryptFile, encryptFile } from '../lib/attachment-crypto.ts';
import type { MediaLocation, ShownAttachment } from '../lib/attachments.ts';

export interface UploadOptions {
  encrypted: boolean;
  /** 0..1 as the bytes go out. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Uploads the file (its ciphertext in an encrypted room); where the event says its bytes are. */
export async function uploadAttachment(client: MatrixClient, file: File, o: UploadOptions): Promise<MediaLocation> {
  const plain = await file.arrayBuffer();
  const enc = o.encrypted ? await encryptFile(plain) : undefined;
  const abortController = new AbortController();
  o.signal?.addEventListener('abort', () => abortController.abort(), { once: true });
  const res = await client.uploadContent(enc ? new Blob([enc.cipher]) : file, {
    name: file.name,
    // The name and type of an encrypted file stay in the encrypted event, not on the server.
    type: enc ? 'application/octet-stream' : file.type || 'application/octet-stream',
    includeFilename: !enc,
    abortController,
    progressHandler: ({ loaded, total }) => o.onProgress?.(total > 0 ? Math.min(1, loaded / total) : 0),
  });
  o.onProgress?.(1);
  return enc ? { file: { ...enc.file, url: res.content_uri } } : { url: res.content_uri };
}

async function authedFetch(client: MatrixClient, url: string | null): Promise<Response | undefined> {
  if (!url) return undefined;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${client.getAccessToken() ?? ''}` } });
  return res.ok ? res : undefined;
}

/** The file's bytes as a blob of its type: downloaded with the token, decrypted when it is encrypted. */
export async function downloadAttachment(client: MatrixClient, a: ShownAttachment): Promise<Blob> {
  const url = client.mxcUrlToHttp(a.mxc, undefined, undefined, undefined, false, true, true);
  const res = await authedFetch(client, url);
  if (!res) throw new Error(`${a.name} could not be downloaded.`);
  const bytes = await res.arrayBuffer();
  const plain = a.file ? await decryptFile(bytes, a.file) : bytes;
  return new Blob([plain], { type: a.mimetype ?? 'application/octet-stream' });
}

/**
 * A preview of an image: the server's thumbnail (authenticated media) of a plain one, the whole file decrypted for an
 * encrypted one (the server cannot scale what it cannot read).
 */
async function previewBlob(client: MatrixClient, a: ShownAttachment, size: number): Promise<Blob> {
  if (!a.file) {
    const thumb = client.mxcUrlToHttp(a.mxc, size, size, 'scale', false, true, true);
    const res = await authedFetch(client, thumb).catch(() => undefined);
    if (res) return res.blob();
  }
  return downloadAttachment(client, a);
}

const previews = new Map<string, Promise<string>>();

/** A blob: URL of the image's preview; one per file for the window's life (the timeline re-renders often). */
export function previewUrl(client: MatrixClient, a: ShownAttachment, size = 480): Promise<string> {
  const key = `${a.mxc}|${size}`;
  let p = previews.get(key);
  if (!p) {
    p = previewBlob(client, a, size).then((b) => URL.createObjectURL(b));
    p.catch(() => previews.delete(key));
    previews.set(key, p);
  }
  return p;
}
