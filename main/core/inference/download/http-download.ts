// A resumable HTTP(S) downloader for GGUF files: Range requests into <file>.partial, size and GGUF
// checks, optional SHA-256, abort keeps the partial for the next attempt.
//
// Why not node-llama-cpp's createModelDownloader (ipull) for plain URLs: measured against the local
// test server (node-llama-cpp 3.22.1 / ipull 3.9.5), a connection cut restarted the whole 5 MiB chunk
// instead of resuming at the byte, and an abort through its signal left no partial file to resume,
// so a new download started again from byte 0. hf: URIs still go through node-llama-cpp (see download.ts),
// which knows how to resolve quantizations and split files on Hugging Face.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { InferenceError } from '../types.ts';
import type { ProgressEvent } from '../types.ts';
import { isGgufFile } from '../discovery/discover.ts';

export interface HttpDownloadOptions {
  url: string;
  /** Absolute path of the finished file; the download goes to `${dest}.partial` first. */
  dest: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: ProgressEvent) => void;
  /** Known size (from a catalogue or the hub); a server reporting another size is refused. */
  expectedSizeBytes?: number;
  /** Hex SHA-256 of the whole file, checked when given. */
  sha256?: string;
  /** Consecutive failed requests without progress before giving up. */
  maxRetries?: number;
  retryDelayMs?: number;
  headers?: Record<string, string>;
}

const PROGRESS_STEP = 256 * 1024;

export async function httpDownload(o: HttpDownloadOptions): Promise<string> {
  const fetchFn = o.fetch ?? fetch;
  const partial = `${o.dest}.partial`;
  const maxRetries = o.maxRetries ?? 5;
  let failures = 0;
  let total: number | undefined;
  for (;;) {
    throwIfAborted(o.signal, partial);
    const offset = await sizeOf(partial);
    let res: Response;
    try {
      res = await fetchFn(o.url, {
        headers: { ...o.headers, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) },
        signal: o.signal,
      });
    } catch (err) {
      throwIfAborted(o.signal, partial);
      if (++failures > maxRetries) throw await giveUp(o.url, partial, total, maxRetries, err);
      await delay(o.retryDelayMs ?? 500, o.signal, partial);
      continue;
    }
    if (res.status === 416) {
      // The partial is at least as long as the file: finish with the checks below, or start over.
      await res.body?.cancel();
      total = parseTotal(res.headers.get('content-range')) ?? total;
      if (total !== undefined && offset === total) break;
      await rm(partial, { force: true });
      if (++failures > maxRetries) throw unavailable(o.url, new Error('HTTP 416'));
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 404 || res.status === 410)
        throw new InferenceError('ModelNotFound', `No file at ${o.url} (HTTP ${res.status}).`);
      if (res.status < 500 && res.status !== 408 && res.status !== 429)
        throw unavailable(o.url, new Error(`HTTP ${res.status}`));
      if (++failures > maxRetries) throw unavailable(o.url, new Error(`HTTP ${res.status}`));
      await delay(o.retryDelayMs ?? 500, o.signal, partial);
      continue;
    }
    let start = offset;
    if (res.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== offset) {
        await res.body?.cancel();
        throw new InferenceError(
          'BadResponse',
          `${o.url} answered a range request with the wrong range (${res.headers.get('content-range')}).`,
        );
      }
      total = range[2] === '*' ? total : Number(range[2]);
    } else {
      start = 0; // the server ignored Range: take the whole file again
      const length = res.headers.get('content-length');
      total = length === null ? total : Number(length);
    }
    if (o.expectedSizeBytes !== undefined && total !== undefined && total !== o.expectedSizeBytes) {
      await res.body?.cancel();
      throw sizeError(o.url, `the server reports ${total} bytes but ${o.expectedSizeBytes} were expected`);
    }
    const received = await writeBody(res, partial, start, total, o);
    if (received.progressed) failures = 0;
    if (received.error) {
      throwIfAborted(o.signal, partial);
      if (++failures > maxRetries) throw await giveUp(o.url, partial, total, maxRetries, received.error);
      await delay(o.retryDelayMs ?? 500, o.signal, partial);
      continue;
    }
    break;
  }
  await verify(partial, total, o);
  await rename(partial, o.dest);
  return o.dest;
}

/** After repeated failures: a file that never grows past a point is a size lie, not a network blip. */
async function giveUp(
  url: string,
  partial: string,
  total: number | undefined,
  maxRetries: number,
  cause: unknown,
): Promise<InferenceError> {
  const have = await sizeOf(partial);
  return total !== undefined && have > 0 && have < total
    ? sizeError(
        url,
        `the server announced ${total} bytes but stopped at ${have} bytes ${maxRetries + 1} times in a row`,
      )
    : unavailable(url, cause);
}

async function writeBody(
  res: Response,
  partial: string,
  start: number,
  total: number | undefined,
  o: HttpDownloadOptions,
) {
  const file = await open(partial, start === 0 ? 'w' : 'a');
  let written = start;
  let lastReported = start;
  let error: unknown;
  try {
    // A reader loop rather than for-await: core's tsconfig has no DOM lib, so web streams are not iterable in types.
    const reader = res.body?.getReader();
    while (reader) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      await file.write(chunk);
      written += chunk.length;
      if (written - lastReported >= PROGRESS_STEP || written === total) {
        lastReported = written;
        report(o, written, total);
      }
    }
  } catch (err) {
    error = err; // a cut connection: what arrived stays in the partial file
  } finally {
    await file.close();
  }
  if (!error && total !== undefined && written < total)
    error = new Error(`connection closed at ${written} of ${total} bytes`);
  if (written !== lastReported) report(o, written, total);
  return { progressed: written > start, error };
}

async function verify(partial: string, total: number | undefined, o: HttpDownloadOptions): Promise<void> {
  const size = await sizeOf(partial);
  const expected = o.expectedSizeBytes ?? total;
  if (expected !== undefined && size !== expected) {
    await rm(partial, { force: true });
    throw sizeError(o.url, `received ${size} bytes but the file has ${expected}`);
  }
  if (!(await isGgufFile(partial))) {
    await rm(partial, { force: true });
    throw new InferenceError('InvalidModelFile', `${o.url} is not a GGUF file (the first bytes are not "GGUF").`, {
      hint: 'Check the URL: it must point at the .gguf file itself, not at a web page about it.',
    });
  }
  if (o.sha256) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
    const actual = hash.digest('hex');
    if (actual !== o.sha256.toLowerCase()) {
      await rm(partial, { force: true });
      throw new InferenceError(
        'InvalidModelFile',
        `${o.url}: SHA-256 ${actual} does not match the expected ${o.sha256}.`,
      );
    }
  }
  o.onProgress?.({ status: 'verified', fraction: 1, transferredBytes: size, totalBytes: size });
}

function report(o: HttpDownloadOptions, transferredBytes: number, totalBytes: number | undefined): void {
  o.onProgress?.({
    status: 'downloading',
    transferredBytes,
    ...(totalBytes !== undefined ? { totalBytes, fraction: totalBytes > 0 ? transferredBytes / totalBytes : 1 } : {}),
  });
}

function sizeError(url: string, why: string): InferenceError {
  return new InferenceError('InvalidModelFile', `Download of ${url} refused: ${why}.`, {
    hint: 'The server or a proxy is sending a different file than announced; try again later or another mirror.',
  });
}

function unavailable(url: string, cause: unknown): InferenceError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new InferenceError('BackendUnavailable', `Download of ${url} failed: ${why}.`, {
    cause,
    // A full disk is not a network problem: the person must free space, not check the URL.
    hint:
      (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC'
        ? 'The disk is full: free some space (or choose a models folder on another disk); running the same download again resumes where it stopped.'
        : 'Check the network connection and the URL; running the same download again resumes where it stopped.',
  });
}

function throwIfAborted(signal: AbortSignal | undefined, partial: string): void {
  if (signal?.aborted) {
    throw new InferenceError('Aborted', `Download stopped; the part received so far is kept in ${partial}.`, {
      cause: signal.reason,
      hint: 'Start the same download again to resume it.',
    });
  }
}

async function delay(ms: number, signal: AbortSignal | undefined, partial: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
  throwIfAborted(signal, partial);
}

function parseTotal(contentRange: string | null): number | undefined {
  const m = /\/(\d+)$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
