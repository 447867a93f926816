// The Ollama backend against the protocol-faithful local Ollama server: detect, list, pull, stream, errors.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OllamaBackend } from '../../main/core/inference/ollama/ollama-backend.ts';
import type { ChatChunk } from '../../main/core/inference/types.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

let server: OllamaTestServer;
let backend: OllamaBackend;

beforeAll(async () => {
  server = await OllamaTestServer.start({
    version: '0.6.5',
    models: [fakeModel('qwen2.5:0.5b', 400_000_000)],
    registry: [fakeModel('llama3.2:1b', 1_300_000_000)],
    pullStepMs: 20,
  });
  backend = new OllamaBackend({ host: server.url });
});
afterAll(() => server.close());
afterEach(() => {
  server.faults.length = 0;
});

async function collect(it: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('OllamaBackend', () => {
  it('detects the server and lists models as ollama:<tag>, local on loopback', async () => {
    expect(await backend.detect()).toEqual({ version: '0.6.5', url: server.url });
    const models = await backend.listModels();
    expect(models).toEqual([
      expect.objectContaining({
        ref: 'ollama:qwen2.5:0.5b',
        backend: 'ollama',
        local: true,
        sizeBytes: 400_000_000,
        location: server.url,
      }),
    ]);
    expect(new OllamaBackend({ host: 'http://gpu-box.lan:11434' }).isLocal('ollama:x')).toBe(false);
  });

  it('streams a chat with token counts, timings and keep_alive', async () => {
    const chunks = await collect(
      backend.chat({
        model: 'ollama:qwen2.5:0.5b',
        messages: [{ role: 'user', content: 'hello there world' }],
        keepAliveSeconds: 120,
        sampling: { temperature: 0.2 },
      }),
    );
    const text = chunks.filter((c) => c.type === 'text');
    expect(text.map((c) => c.text).join('')).toBe('Echo: hello there world');
    expect(text).toHaveLength(4);
    const done = chunks.at(-1);
    expect(done?.type).toBe('done');
    if (done?.type !== 'done') return;
    expect(done.text).toBe('Echo: hello there world');
    expect(done.stats).toMatchObject({
      completionTokens: 4,
      promptTokens: 7,
      backend: 'ollama',
      model: 'ollama:qwen2.5:0.5b',
    });
    expect(done.stats.tokensPerSecond).toBeCloseTo(100); // 4 tokens in 40 ms of eval_duration
    expect(done.stats.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    const body = server.requestsTo('/api/chat').at(-1)?.body;
    expect(body).toMatchObject({ keep_alive: 120, stream: true, options: { temperature: 0.2 } });
    const ps = await fetch(`${server.url}/api/ps`).then(
      (r) => r.json() as Promise<{ models: Array<{ name: string }> }>,
    );
    expect(ps.models.map((m) => m.name)).toEqual(['qwen2.5:0.5b']);
  });

  it('sends a JSON schema as `format`, and streams the JSON the server holds the model to', async () => {
    const schema = {
      type: 'object',
      properties: { category: { enum: ['complex', 'simple'] } },
      required: ['category'],
    };
    const chunks = await collect(
      backend.chat({ model: 'ollama:qwen2.5:0.5b', messages: [{ role: 'user', content: 'x' }], jsonSchema: schema }),
    );
    const done = chunks.at(-1);
    expect(done?.type === 'done' && JSON.parse(done.text)).toEqual({ category: 'complex' });
    expect(server.requestsTo('/api/chat').at(-1)?.body?.format).toEqual(schema);
  });

  it('maps a missing model to ModelNotFound with the pull command', async () => {
    await expect(
      collect(backend.chat({ model: 'ollama:mistral', messages: [{ role: 'user', content: 'hi' }] })),
    ).rejects.toMatchObject({
      code: 'ModelNotFound',
      hint: expect.stringContaining('ollama pull mistral'),
    });
  });

  it('maps connection refused to BackendUnavailable', async () => {
    const gone = await OllamaTestServer.start();
    await gone.close();
    const dead = new OllamaBackend({ host: gone.url });
    await expect(dead.detect()).rejects.toMatchObject({
      code: 'BackendUnavailable',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    await expect(
      collect(dead.chat({ model: 'ollama:x', messages: [{ role: 'user', content: 'hi' }] })),
    ).rejects.toMatchObject({ code: 'BackendUnavailable' });
  });

  it('reports a connection cut mid-stream as BackendUnavailable, saying how much arrived', async () => {
    server.addFault({ kind: 'cut', afterChunks: 2 }, '/api/chat');
    const got: string[] = [];
    const run = async () => {
      for await (const c of backend.chat({
        model: 'ollama:qwen2.5:0.5b',
        messages: [{ role: 'user', content: 'one two three four' }],
      }))
        if (c.type === 'text') got.push(c.text);
    };
    await expect(run()).rejects.toMatchObject({
      code: 'BackendUnavailable',
      message: expect.stringMatching(/closed the connection mid-stream.*after 9 characters/),
    });
    expect(got.join('')).toBe('Echo: one');
  });

  it('maps 500 and garbage', async () => {
    server.addFault(
      { kind: 'status', status: 500, error: 'model requires more system memory (9.1 GiB) than is available (2.0 GiB)' },
      '/api/chat',
    );
    await expect(
      collect(backend.chat({ model: 'ollama:qwen2.5:0.5b', messages: [{ role: 'user', content: 'x' }] })),
    ).rejects.toMatchObject({ code: 'OutOfMemory' });
    server.addFault({ kind: 'garbage' }, '/api/tags');
    await expect(backend.listModels()).rejects.toMatchObject({ code: 'BadResponse' });
  });

  it('pulls with streamed progress, and ensureModel pulls only when missing', async () => {
    const events: Array<{ status: string; fraction?: number }> = [];
    await backend.ensureModel('ollama:llama3.2:1b', { onProgress: (p) => events.push(p) });
    expect(events[0]?.status).toBe('pulling manifest');
    expect(events.some((e) => e.fraction === 1)).toBe(true);
    expect(events.at(-1)?.status).toBe('success');
    expect((await backend.listModels()).map((m) => m.ref)).toContain('ollama:llama3.2:1b');
    const pulls = server.requestsTo('/api/pull').length;
    await backend.ensureModel('ollama:llama3.2:1b');
    expect(server.requestsTo('/api/pull').length).toBe(pulls);
    await expect(backend.pull('ollama:no-such-model')).rejects.toMatchObject({ code: 'ModelNotFound' });
  });

  it('cancels a pull through its signal, which closes the stream', async () => {
    server.registry.set('big:latest', fakeModel('big', 5_000_000_000));
    const ac = new AbortController();
    const p = backend.pull('ollama:big', { signal: ac.signal, onProgress: (e) => e.transferredBytes && ac.abort() });
    await expect(p).rejects.toMatchObject({ code: 'Aborted' });
    await expect.poll(() => server.cancelledPulls).toBe(1);
    expect(server.models.has('big:latest')).toBe(false);
  });

  it('aborts a chat mid-stream', async () => {
    const slow = await OllamaTestServer.start({ models: [fakeModel('m')], tokenDelayMs: 30 });
    try {
      const b = new OllamaBackend({ host: slow.url });
      const ac = new AbortController();
      const run = async () => {
        for await (const c of b.chat({
          model: 'ollama:m',
          messages: [{ role: 'user', content: 'a b c d e f g h' }],
          signal: ac.signal,
        }))
          if (c.type === 'text') ac.abort();
      };
      await expect(run()).rejects.toMatchObject({ code: 'Aborted' });
    } finally {
      await slow.close();
    }
  });
});
