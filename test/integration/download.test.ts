// Resumable GGUF downloads against the local download server: progress, resume after a cut,
// a lying server refused, abort keeps a partial that the next run resumes.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadModel, parseDownloadRef } from '../../main/core/inference/download/index.ts';
import { isInferenceError, type ProgressEvent } from '../../main/core/inference/types.ts';
import { DownloadServer } from '../support/download-server.ts';

const SIZE = 2 * 1024 * 1024 + 123;
const model = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) model[i] = (i * 31 + 7) % 256;
model.write('GGUF', 0);
const sha256 = createHash('sha256').update(model).digest('hex');

let server: DownloadServer;
let dir: string;
beforeEach(async () => {
  server = await DownloadServer.start({ 'tiny.gguf': model, 'page.gguf': Buffer.from('<html>not a model</html>') });
  dir = mkdtempSync(join(tmpdir(), 'download-'));
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('downloadModel over http', () => {
  it('reports progress that moves up to the whole file and writes the right bytes', async () => {
    const events: ProgressEvent[] = [];
    const path = await downloadModel(`llama:${server.fileUrl('tiny.gguf')}`, {
      modelsDir: dir,
      sha256,
      onProgress: (p) => events.push(p),
    });
    expect(path).toBe(join(dir, 'tiny.gguf'));
    expect(readFileSync(path).equals(model)).toBe(true);
    const bytes = events.filter((e) => e.status === 'downloading').map((e) => e.transferredBytes!);
    expect(bytes.length).toBeGreaterThan(3);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(bytes.at(-1)).toBe(SIZE);
    expect(events.at(-1)).toMatchObject({ status: 'verified', fraction: 1, totalBytes: SIZE });
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('resumes after a cut connection with a Range request and completes with the right bytes', async () => {
    server.cutOnceAfter(700_000);
    const path = await downloadModel(server.fileUrl('tiny.gguf'), {
      modelsDir: dir,
      retryDelayMs: 10,
      expectedSizeBytes: SIZE,
    });
    expect(readFileSync(path).equals(model)).toBe(true);
    const gets = server.requests.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(gets[1]!.range!)![1])).toBeGreaterThan(0);
  });

  it('refuses a server that announces more bytes than it sends, with a clear error', async () => {
    server.lieAboutSize(SIZE + 5000);
    const err = await downloadModel(server.fileUrl('tiny.gguf'), {
      modelsDir: dir,
      retryDelayMs: 5,
      maxRetries: 2,
    }).catch((e: unknown) => e);
    expect(isInferenceError(err, 'InvalidModelFile')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`announced ${SIZE + 5000} bytes but stopped at ${SIZE} bytes 3 times in a row`),
    );
    expect(existsSync(join(dir, 'tiny.gguf'))).toBe(false);
  });

  it('refuses a size other than the expected one before downloading it', async () => {
    const err = await downloadModel(server.fileUrl('tiny.gguf'), { modelsDir: dir, expectedSizeBytes: SIZE - 1 }).catch(
      (e: unknown) => e,
    );
    expect(isInferenceError(err, 'InvalidModelFile')).toBe(true);
    expect((err as Error).message).toContain(`the server reports ${SIZE} bytes but ${SIZE - 1} were expected`);
  });

  it('rejects a file that is not GGUF and a missing file', async () => {
    const notGguf = await downloadModel(server.fileUrl('page.gguf'), { modelsDir: dir }).catch((e: unknown) => e);
    expect(isInferenceError(notGguf, 'InvalidModelFile')).toBe(true);
    expect(existsSync(join(dir, 'page.gguf'))).toBe(false);
    const missing = await downloadModel(server.fileUrl('nope.gguf'), { modelsDir: dir }).catch((e: unknown) => e);
    expect(isInferenceError(missing, 'ModelNotFound')).toBe(true);
  });

  it('abort leaves a partial file that the next download resumes', async () => {
    server.chunkDelayMs = 20;
    const controller = new AbortController();
    const err = await downloadModel(server.fileUrl('tiny.gguf'), {
      modelsDir: dir,
      signal: controller.signal,
      onProgress: (p) => {
        if ((p.transferredBytes ?? 0) >= 512 * 1024) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(isInferenceError(err, 'Aborted')).toBe(true);
    const partial = join(dir, 'tiny.gguf.partial');
    expect((err as Error).message).toContain(partial);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThanOrEqual(512 * 1024);
    expect(kept).toBeLessThan(SIZE);

    server.chunkDelayMs = 0;
    server.requests.length = 0;
    const path = await downloadModel(server.fileUrl('tiny.gguf'), { modelsDir: dir, sha256 });
    expect(readFileSync(path).equals(model)).toBe(true);
    expect(server.requests).toEqual([{ method: 'GET', path: '/tiny.gguf', range: `bytes=${kept}-` }]);
  });

  it('returns a finished file without downloading again', async () => {
    await downloadModel(server.fileUrl('tiny.gguf'), { modelsDir: dir });
    server.requests.length = 0;
    expect(await downloadModel(server.fileUrl('tiny.gguf'), { modelsDir: dir, expectedSizeBytes: SIZE })).toBe(
      join(dir, 'tiny.gguf'),
    );
    expect(server.requests).toEqual([]);
  });
});

describe('parseDownloadRef', () => {
  it('tells hf: URIs from URLs and refuses the rest', () => {
    expect(parseDownloadRef('llama:hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M')).toEqual({
      kind: 'hf',
      uri: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M',
    });
    expect(parseDownloadRef('https://example.com/m.gguf')).toEqual({ kind: 'url', uri: 'https://example.com/m.gguf' });
    expect(() => parseDownloadRef('ollama:qwen2.5:0.5b')).toThrow(/not an hf: URI or an http\(s\) URL/);
  });
});
