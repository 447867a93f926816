// Downloads an attachment's bytes through the authenticated media API (`/_matrix/client/v1/media/download`, spec
// v1.11) with the bot's access token, into memory only, under a size cap: refused before the request when the event
// declares too much, and stopped as soon as the bytes pass the cap whatever was declared.
import { AttachmentError, tooLargeBeforeDownload, tooLargeWhileDownloading } from './attachment-errors.ts';

export interface MediaSource {
  baseUrl: string;
  /** The bot's access token, read at each download (it can change on a re-login). */
  accessToken: () => string | null | undefined;
  fetch: typeof globalThis.fetch;
}

export interface DownloadRequest {
  mxc: string;
  /** For messages: the file's name. */
  name: string;
  /** What the event declared (`info.size`), checked before downloading. */
  declaredSize?: number | undefined;
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

/** `mxc://<server>/<media id>` split, or undefined when it is not one (the spec's grammar for both parts). */
export function parseMxc(mxc: string): { server: string; mediaId: string } | undefined {
  const m = /^mxc:\/\/([A-Za-z0-9.:[\]-]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
  return m ? { server: m[1]!, mediaId: m[2]! } : undefined;
}

async function errcodeOf(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.json()) as { errcode?: unknown };
    return typeof body.errcode === 'string' ? body.errcode : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the body into memory, cancelling the stream once it passes `max` bytes. */
async function readCapped(res: Response, req: DownloadRequest): Promise<Uint8Array> {
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(length) && length > req.maxBytes) {
    await res.body?.cancel();
    throw tooLargeWhileDownloading(req.name, req.maxBytes, req.declaredSize);
  }
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > req.maxBytes) {
      await reader.cancel();
      throw tooLargeWhileDownloading(req.name, req.maxBytes, req.declaredSize);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The attachment's bytes; AttachmentError (TooLarge, DownloadFailed) when they cannot or must not be had. */
export async function downloadMedia(source: MediaSource, req: DownloadRequest): Promise<Uint8Array> {
  if (req.declaredSize !== undefined && req.declaredSize > req.maxBytes)
    throw tooLargeBeforeDownload(req.name, req.declaredSize, req.maxBytes);
  const parts = parseMxc(req.mxc);
  if (!parts)
    throw new AttachmentError('DownloadFailed', `${req.name} has no valid mxc:// address, so it cannot be downloaded.`);
  const path = `${encodeURIComponent(parts.server)}/${encodeURIComponent(parts.mediaId)}`;
  const base = source.baseUrl.replace(/\/+$/, '');
  const token = source.accessToken();
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let res: Response;
  try {
    res = await source.fetch(`${base}/_matrix/client/v1/media/download/${path}`, { headers, signal: req.signal });
    // A server from before v1.11 does not know the route (404 M_UNRECOGNIZED): its legacy media API has the file.
    if (res.status === 404 && (await errcodeOf(res.clone())) === 'M_UNRECOGNIZED') {
      await res.body?.cancel();
      res = await source.fetch(`${base}/_matrix/media/v3/download/${path}`, { headers, signal: req.signal });
    }
  } catch (err) {
    if (req.signal?.aborted) throw err;
    throw new AttachmentError(
      'DownloadFailed',
      `${req.name} could not be downloaded from the homeserver: ${(err as Error).message}.`,
      { cause: err },
    );
  }
  if (!res.ok) {
    const errcode = await errcodeOf(res);
    throw new AttachmentError(
      'DownloadFailed',
      `${req.name} could not be downloaded: the homeserver answered ${res.status}${errcode ? ` ${errcode}` : ''}. ` +
        'Send it again; if it keeps failing, check the homeserver.',
    );
  }
  return readCapped(res, req);
}
