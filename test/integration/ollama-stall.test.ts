// A stalled Ollama never holds the room: a stream that sends three chunks and then nothing ends with a typed
// error within the idle limit, the stalled request is closed (the server sees the client go), the next request to
// the same model is answered, and a stall before the first token moves on to the bot's fallback.
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings } from '../../main/common/settings-schema.ts';
import { OllamaBackend, type OllamaEndpoint } from '../../main/core/inference/ollama/ollama-backend.ts';
import { InferenceRouter, type RouteDecision } from '../../main/core/inference/router.ts';
import { StreamStalledError } from '../../main/core/inference/stream-watchdog.ts';
import type { ChatChunk, InferenceBackend } from '../../main/core/inference/types.ts';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';

let server: OllamaTestServer;
let endpoint: OllamaEndpoint;
let backend: OllamaBackend;

beforeAll(async () => {
  server = await OllamaTestServer.start({ models: [fakeModel('qwen2.5:0.5b')] });
  endpoint = { id: 'home', url: server.url, idleTimeoutMs: 1000, loadTimeoutMs: 1000 };
  backend = new OllamaBackend({ getEndpoints: () => [endpoint] });
});
afterAll(() => server.close());
afterEach(() => {
  server.faults.length = 0;
});

const ask = (content: string) => ({ model: 'ollama:qwen2.5:0.5b', messages: [{ role: 'user' as const, content }] });

describe('a stalled Ollama stream', () => {
  it('ends with StreamStalledError within the idle limit, closes the request, and the next request is answered', async () => {
    server.addFault({ kind: 'stall', afterChunks: 3 }, '/api/chat');
    const closed = once(server.events, 'stall-closed');
    const got: string[] = [];
    let lastChunkAt = 0;
    const run = async () => {
      for await (const c of backend.chat(ask('one two three four five six'))) {
        if (c.type !== 'text') continue;
        got.push(c.text);
        lastChunkAt = performance.now();
      }
    };
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    const waited = performance.now() - lastChunkAt;
    expect(err).toBeInstanceOf(StreamStalledError);
    expect(err).toMatchObject({
      code: 'Timeout',
      phase: 'idle',
      limitMs: 1000,
      hint: expect.stringContaining('idleTimeoutMs'),
    });
    expect((err as Error).message).toMatch(/sent nothing for 1 s after 13 characters; the request was stopped/);
    expect(got.join('')).toBe('Echo: one two');
    // The idle limit, not the server, ended it: about 1 s after the last chunk (generous bounds for a busy machine).
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(5000);
    await closed; // the stalled HTTP request was aborted: the server saw its client go
    expect(server.closedStalls).toBe(1);
    const next: ChatChunk[] = [];
    for await (const c of backend.chat(ask('again please'))) next.push(c);
    expect(next.at(-1)).toMatchObject({ type: 'done', text: 'Echo: again please' });
  });

  it('waits for the first token under the load limit, then tries the bot’s fallback', async () => {
    server.addFault({ kind: 'stall', afterChunks: 0 }, '/api/chat');
    const answered: string[] = [];
    const spare: InferenceBackend = {
      kind: 'openai',
      handles: (m) => m.startsWith('spare:'),
      isLocal: () => true,
      listModels: async () => [],
      ensureModel: async () => undefined,
      countTokens: async (_m, t) => t.length,
      close: async () => undefined,
      async *chat(r) {
        answered.push(r.model);
        yield { type: 'text', text: 'spare answer', tokens: 2 };
        yield {
          type: 'done',
          text: 'spare answer',
          stats: {
            promptTokens: 1,
            completionTokens: 2,
            timeToFirstTokenMs: 1,
            tokensPerSecond: 1,
            totalMs: 1,
            backend: 'spare',
            model: r.model,
          },
        };
      },
    };
    const router = new InferenceRouter({ backends: [backend, spare], getSettings: defaultSettings });
    const bot = botSchema.parse({
      id: 'qwen',
      displayName: 'Qwen',
      model: 'ollama:qwen2.5:0.5b',
      fallback: ['spare:x'],
    });
    let decision: RouteDecision | undefined;
    let text = '';
    for await (const c of router.chat({ bot, messages: ask('hello').messages, onDecision: (d) => (decision = d) }))
      if (c.type === 'text') text += c.text;
    expect(text).toBe('spare answer');
    expect(answered).toEqual(['spare:x']);
    expect(decision?.reason).toMatch(/ollama:qwen2\.5:0\.5b failed \(Timeout\)/);
    expect(decision?.attempts[0]?.error?.message).toMatch(/did not start answering within 1 s/);
  });
});
