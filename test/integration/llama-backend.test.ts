// The node-llama-cpp backend with real generation on the generated tiny model (1 thread).
import {
  copyFileSync,
  mkdtempSync,
  openSync,
  closeSync,
  ftruncateSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { toChatHistory } from '../../main/core/inference/llama/chat-history.ts';
import { isInferenceError, type ChatChunk, type InferenceError } from '../../main/core/inference/types.ts';
import { tinyModel } from '../support/models.ts';

let model: string;
let backend: LlamaBackend;
const dir = mkdtempSync(join(tmpdir(), 'llama-backend-'));

beforeAll(async () => {
  model = await tinyModel();
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 2, contextSize: 512 });
});
afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

async function failure(p: Promise<unknown>): Promise<InferenceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isInferenceError(err)) throw new Error(`expected an InferenceError, got ${String(err)}`);
  return err;
}

describe('LlamaBackend', () => {
  it('streams text chunks with token counts, then done with timings', async () => {
    const chunks = await collect(
      backend.chat({
        model: `llama:${model}`,
        messages: [{ role: 'user', content: 'hello', name: 'Ann' }],
        sampling: { maxTokens: 40, temperature: 0.8, seed: 1 },
      }),
    );
    const texts = chunks.filter((c) => c.type === 'text');
    const done = chunks.at(-1)!;
    expect(texts.length).toBeGreaterThan(5);
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.text).toBe(texts.map((c) => c.text).join(''));
    expect(done.text).toMatch(/^[\x20-\x7e\n]+$/); // the bias keeps random weights printable
    expect(done.stats.completionTokens).toBe(40);
    expect(texts.reduce((n, c) => n + (c.type === 'text' ? c.tokens : 0), 0)).toBe(40);
    expect(done.stats.promptTokens).toBeGreaterThan(5);
    expect(done.stats.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(done.stats.tokensPerSecond).toBeGreaterThan(10);
    expect(backend.status()).toMatchObject({ requestedGpu: false, gpu: false, threads: 1 });
  });

  it('stops at once when aborted mid-stream and frees the sequence', async () => {
    const controller = new AbortController();
    const received: string[] = [];
    let abortedAt = 0;
    const run = (async () => {
      for await (const c of backend.chat({
        model: `llama:${model}`,
        messages: [{ role: 'user', content: 'go on' }],
        sampling: { maxTokens: 100_000 },
        signal: controller.signal,
      })) {
        if (c.type === 'text') received.push(c.text);
        if (received.length === 10) {
          abortedAt = performance.now();
          controller.abort();
        }
      }
    })();
    const err = await failure(run);
    expect(err.code).toBe('Aborted');
    expect(performance.now() - abortedAt).toBeLessThan(200); // one token at most, not the 100 000 asked for
    expect(received).toHaveLength(10);
    expect(backend.status().models[0]!.activeRequests).toBe(0);
    // Both sequences are usable again: two parallel requests still run.
    const again = await Promise.all(
      [1, 2].map(() =>
        collect(
          backend.chat({
            model: `llama:${model}`,
            messages: [{ role: 'user', content: 'x' }],
            sampling: { maxTokens: 5 },
          }),
        ),
      ),
    );
    expect(again.map((c) => c.at(-1)!.type)).toEqual(['done', 'done']);
  });

  it('runs two requests in parallel on separate sequences', async () => {
    const started: number[] = [];
    const run = async (i: number) => {
      const chunks: ChatChunk[] = [];
      for await (const c of backend.chat({
        model: `llama:${model}`,
        messages: [{ role: 'user', content: `q${i}` }],
        sampling: { maxTokens: 60 },
      })) {
        if (chunks.length === 0) started.push(Date.now());
        chunks.push(c);
      }
      return chunks;
    };
    const [a, b] = await Promise.all([run(1), run(2)]);
    expect(a.at(-1)).toMatchObject({ type: 'done', stats: { completionTokens: 60 } });
    expect(b.at(-1)).toMatchObject({ type: 'done', stats: { completionTokens: 60 } });
    // Interleaved, not queued: the second started before the first finished.
    expect(Math.abs(started[0]! - started[1]!)).toBeLessThan(1000);
  });

  it('counts tokens with the model tokenizer and lists the loaded model', async () => {
    expect(await backend.countTokens(`llama:${model}`, 'hello world')).toBeGreaterThan(2);
    const list = await backend.listModels();
    expect(list).toEqual([
      expect.objectContaining({ ref: `llama:${model}`, backend: 'llama', loaded: true, local: true }),
    ]);
    expect(backend.handles(`llama:${model}`)).toBe(true);
    expect(backend.handles('llama:relative.gguf')).toBe(false);
  });

  it('names a corrupt or truncated GGUF in an InvalidModelFile error', async () => {
    const junk = join(dir, 'junk.gguf');
    writeFileSync(junk, 'this is not a model at all, just some text');
    const truncated = join(dir, 'truncated.gguf');
    copyFileSync(model, truncated);
    const fd = openSync(truncated, 'r+');
    ftruncateSync(fd, Math.floor(statSync(model).size / 2));
    closeSync(fd);
    for (const path of [junk, truncated]) {
      const err = await failure(
        collect(backend.chat({ model: `llama:${path}`, messages: [{ role: 'user', content: 'hi' }] })),
      );
      expect(err.code).toBe('InvalidModelFile');
      expect(err.message).toContain(path);
      expect(err.hint).toMatch(/download it again/);
    }
    const missing = await failure(backend.ensureModel(`llama:${join(dir, 'nope.gguf')}`));
    expect(missing.code).toBe('ModelNotFound');
  });

  it('falls back to the CPU when the planned GPU cannot start, and says why', async () => {
    const b = new LlamaBackend({
      threads: 1,
      gpu: 'cuda',
      contextSize: 256,
      loadLlama: async (o) => {
        if (o.gpu === 'cuda') throw new Error('NoBinaryFoundError: no CUDA binary');
        const { getLlama } = await import('node-llama-cpp');
        return getLlama({ gpu: false, build: 'never', maxThreads: o.maxThreads });
      },
    });
    try {
      await b.ensureModel(`llama:${model}`);
      expect(b.status()).toMatchObject({
        requestedGpu: 'cuda',
        gpu: false,
        fallbackReason: expect.stringContaining('no CUDA binary'),
      });
    } finally {
      await b.close();
    }
  });
});

describe('toChatHistory', () => {
  it('names speakers of user messages, merges system prompts and opens a model turn', () => {
    expect(
      toChatHistory([
        { role: 'system', content: 'You are Bot.' },
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi', name: 'Ann' },
        { role: 'assistant', content: 'hello', name: 'Bot' },
        { role: 'user', content: 'and you?' },
      ]),
    ).toEqual([
      { type: 'system', text: 'You are Bot.\n\nBe brief.' },
      { type: 'user', text: 'Ann: hi' },
      { type: 'model', response: ['hello'] },
      { type: 'user', text: 'and you?' },
      { type: 'model', response: [] },
    ]);
  });
});
