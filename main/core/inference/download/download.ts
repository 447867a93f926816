// Downloads a model reference (hf: URI or http(s) URL, optionally prefixed llama:) into <data>/models
// with progress, cancel and checks, and returns the absolute path of the GGUF file.
import { mkdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InferenceError } from '../types.ts';
import type { ProgressEvent } from '../types.ts';
import { isGgufFile } from '../discovery/discover.ts';
import { httpDownload } from './http-download.ts';

export interface DownloadModelOptions {
  /** <data>/models */
  modelsDir: string;
  onProgress?: (p: ProgressEvent) => void;
  signal?: AbortSignal;
  /** Used for http(s) URLs. */
  fetch?: typeof fetch;
  expectedSizeBytes?: number;
  sha256?: string;
  /** File name in modelsDir for http(s) URLs; defaults to the URL's last path segment. */
  fileName?: string;
  maxRetries?: number;
  retryDelayMs?: number;
  /** Hugging Face endpoint for hf: URIs (a mirror); node-llama-cpp also reads HF_ENDPOINT. */
  huggingFaceEndpoint?: string;
  /** Hugging Face token for gated models. */
  huggingFaceToken?: string;
}

export type ModelSourceKind = 'hf' | 'url';

/** Strips `llama:` and tells which downloader takes the reference; throws for anything else. */
export function parseDownloadRef(ref: string): { kind: ModelSourceKind; uri: string } {
  const uri = ref.startsWith('llama:') ? ref.slice('llama:'.length) : ref;
  if (/^hf:[^/\s]+\/[^\s]+$/.test(uri)) return { kind: 'hf', uri };
  if (/^https?:\/\/\S+$/i.test(uri)) return { kind: 'url', uri };
  throw new InferenceError('ModelNotFound', `Cannot download "${ref}": not an hf: URI or an http(s) URL.`, {
    hint: 'Use hf:<user>/<repo>:<quant> (e.g. hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M) or a URL of a .gguf file.',
  });
}

export async function downloadModel(ref: string, options: DownloadModelOptions): Promise<string> {
  const { kind, uri } = parseDownloadRef(ref);
  const dir = resolve(options.modelsDir);
  await mkdir(dir, { recursive: true });
  if (kind === 'url') {
    const dest = join(dir, safeFileName(options.fileName ?? basename(decodeURIComponent(new URL(uri).pathname))));
    if (await finished(dest, options.expectedSizeBytes)) return dest;
    return httpDownload({
      url: uri,
      dest,
      ...pick(options, ['fetch', 'signal', 'onProgress', 'expectedSizeBytes', 'sha256', 'maxRetries', 'retryDelayMs']),
    });
  }
  return downloadFromHub(uri, dir, options);
}

/** hf: URIs: node-llama-cpp resolves the quantization to files (split models too) and downloads them. */
async function downloadFromHub(uri: string, dir: string, options: DownloadModelOptions): Promise<string> {
  const { createModelDownloader } = await import('node-llama-cpp');
  options.onProgress?.({ status: 'resolving' });
  let downloader;
  try {
    downloader = await createModelDownloader({
      modelUri: uri,
      dirPath: dir,
      skipExisting: true,
      // Keep what arrived when cancelled, so a retry does not start from nothing.
      deleteTempFileOnCancel: false,
      parallelDownloads: 2,
      ...(options.huggingFaceEndpoint ? { endpoints: { huggingFace: options.huggingFaceEndpoint } } : {}),
      ...(options.huggingFaceToken ? { tokens: { huggingFace: options.huggingFaceToken } } : {}),
      onProgress: ({ totalSize, downloadedSize }) =>
        options.onProgress?.({
          status: 'downloading',
          transferredBytes: downloadedSize,
          totalBytes: totalSize,
          fraction: totalSize > 0 ? downloadedSize / totalSize : 0,
        }),
    });
  } catch (err) {
    throw new InferenceError('ModelNotFound', `Cannot resolve ${uri} on Hugging Face: ${(err as Error).message}`, {
      cause: err,
      hint: 'Check the user, repository and quantization (e.g. hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M), and the network.',
    });
  }
  let path: string;
  try {
    path = await downloader.download(options.signal ? { signal: options.signal } : {});
  } catch (err) {
    if (options.signal?.aborted) throw new InferenceError('Aborted', `Download of ${uri} stopped.`, { cause: err });
    throw new InferenceError('BackendUnavailable', `Download of ${uri} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (options.signal?.aborted) throw new InferenceError('Aborted', `Download of ${uri} stopped.`);
  // Size: every file as large as the hub said; integrity: the entrypoint is a GGUF file.
  for (const f of downloader.filesInfo) {
    const size = await stat(f.filePath).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== f.totalSize)
      throw new InferenceError(
        'InvalidModelFile',
        `${f.filePath} has ${size} bytes, the hub announced ${f.totalSize}: download it again.`,
      );
  }
  if (!(await isGgufFile(path)))
    throw new InferenceError('InvalidModelFile', `${path}, downloaded from ${uri}, is not a GGUF file.`);
  options.onProgress?.({
    status: 'verified',
    fraction: 1,
    totalBytes: downloader.totalSize,
    transferredBytes: downloader.totalSize,
  });
  return path;
}

async function finished(path: string, expectedSize: number | undefined): Promise<boolean> {
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  return size > 0 && (expectedSize === undefined || size === expectedSize) && (await isGgufFile(path));
}

/** No folders, no dot files: the name comes from a URL a person pasted. */
function safeFileName(name: string): string {
  const clean = name.replace(/[/\\:*?"<>|\0]/g, '_').replace(/^\.+/, '');
  if (!clean)
    throw new InferenceError('ModelNotFound', 'The URL names no file; pass a URL ending in the .gguf file name.');
  return clean;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
