// The OpenAI-compatible backend against the local OpenAI-compatible server: SSE streaming, API keys,
// 429 with Retry-After, 5xx retries, a cut mid-stream, garbage, timeouts and failover between endpoints.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIBackend, type OpenAIEndpoint } from '../../main/core/inference/openai/openai-backend.ts';
import type { Clock } from '../../main/core/inference/rate-limit.ts';
import type { ChatChunk } from '../../main/core/inference/types.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

let a: OpenAITestServer;
let b: OpenAITestServer;

/** Real time, but waits (Retry-After, backoff, rate limit) are recorded and skipped. */
function skippingClock(): Clock & { sleeps: number[] } {
  let offset = 0;
  const sleeps: number[] = [];
  return { sleeps, now: () => Date.now() + offset, sleep: async (ms) => void (sleeps.push(ms), (offset += ms)) };
}

function ep(id: string, server: OpenAITestServer, extra: Partial<OpenAIEndpoint> = {}): OpenAIEndpoint {
  return {
    id,
    url: server.url,
    apiKeyRef: 'env:TEST_OPENAI_KEY',
    requestsPerMinute: 100,
    timeoutMs: 2000,
    failover: [],
    ...extra,
  };
}

function make(endpoints: OpenAIEndpoint[], clock = skippingClock()) {
  return {
    clock,
    backend: new OpenAIBackend({
      getEndpoints: () => endpoints,
      env: { TEST_OPENAI_KEY: 'sk-test-123456789' },
      clock,
      retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 60_000 },
    }),
  };
}

async function collect(it: AsyncIterable<ChatChunk>): Promise<{ text: string; chunks: ChatChunk[] }> {
  const chunks: ChatChunk[] = [];
  for await (const c of it) chunks.push(c);
  return {
    chunks,
    text: chunks
      .filter((c) => c.type === 'text')
      .map((c) => (c as { text: string }).text)
      .join(''),
  };
}

const ask = (model: string, content = 'hello world', signal?: AbortSignal) => ({
  model,
  messages: [{ role: 'user' as const, content, name: 'Ada Lovelace' }],
  signal,
});

beforeAll(async () => {
  a = await OpenAITestServer.start({ models: ['m1'], apiKey: 'sk-test-123456789' });
  b = await OpenAITestServer.start({ models: ['m1'], apiKey: 'sk-test-123456789' });
});
afterAll(async () => {
  await a.close();
  await b.close();
});
afterEach(() => {
  a.faults.length = 0;
  b.faults.length = 0;
});

describe('OpenAIBackend', () => {
  it('streams over SSE with the key from the environment, usage and timings', async () => {
    const { backend } = make([ep('a', a)]);
    const { text, chunks } = await collect(
      backend.chat({ ...ask('openai:a/m1'), sampling: { maxTokens: 10, temperature: 0.1 } }),
    );
    expect(text).toBe('Echo: hello world');
    const done = chunks.at(-1);
    expect(done).toMatchObject({
      type: 'done',
      text: 'Echo: hello world',
      stats: { completionTokens: 3, promptTokens: 6, backend: 'openai', model: 'openai:a/m1' },
    });
    const req = a.chatRequests().at(-1);
    expect(req?.authorization).toBe('Bearer sk-test-123456789');
    expect(req?.body).toMatchObject({
      model: 'm1',
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 10,
      messages: [{ name: 'Ada_Lovelace' }],
    });
  });

  it('lists models as openai:<endpoint>/<model>; local only for loopback endpoints', async () => {
    const { backend } = make([ep('a', a), { ...ep('cloud', a), url: 'https://api.example.com/v1' }]);
    expect(await backend.listModels()).toEqual([
      expect.objectContaining({ ref: 'openai:a/m1', local: true, backend: 'openai' }),
    ]);
    expect(backend.isLocal('openai:cloud/m1')).toBe(false);
  });

  it('waits Retry-After on 429, then streams', async () => {
    const { backend, clock } = make([ep('a', a)]);
    a.addFault({ kind: 'rate-limit', retryAfterSeconds: 7 });
    const { text } = await collect(backend.chat(ask('openai:a/m1')));
    expect(text).toBe('Echo: hello world');
    expect(clock.sleeps).toContain(7000);
    expect(a.chatRequests().length).toBeGreaterThanOrEqual(2);
  });

  it('retries 500 and 503 with backoff', async () => {
    const { backend, clock } = make([ep('a', a)]);
    a.addFault({ kind: 'status', status: 500 });
    a.addFault({ kind: 'status', status: 503 });
    expect((await collect(backend.chat(ask('openai:a/m1')))).text).toBe('Echo: hello world');
    expect(clock.sleeps).toHaveLength(2);
  });

  it('never retries once text was streamed: a cut mid-stream is an error naming what arrived', async () => {
    const { backend } = make([ep('a', a, { failover: ['b'] }), ep('b', b)]);
    a.addFault({ kind: 'cut', afterChunks: 2 });
    const before = b.chatRequests().length;
    const got: string[] = [];
    const run = async () => {
      for await (const c of backend.chat(ask('openai:a/m1', 'one two three'))) if (c.type === 'text') got.push(c.text);
    };
    await expect(run()).rejects.toMatchObject({
      code: 'BackendUnavailable',
      message: expect.stringMatching(/closed the connection mid-stream after 9 characters/),
    });
    expect(got.join('')).toBe('Echo: one');
    expect(b.chatRequests().length).toBe(before);
  });

  it('fails over to the next endpoint when the first is down or cuts before any text', async () => {
    const gone = await OpenAITestServer.start();
    await gone.close();
    const { backend } = make([ep('down', gone, { failover: ['b'] }), ep('b', b), ep('a', a, { failover: ['b'] })]);
    expect((await collect(backend.chat(ask('openai:down/m1')))).text).toBe('Echo: hello world');
    expect(backend.health().find((h) => h.id === 'down')).toMatchObject({ healthy: false });
    a.addFault({ kind: 'cut', afterChunks: 0 });
    expect((await collect(backend.chat(ask('openai:a/m1')))).text).toBe('Echo: hello world');
  });

  it('maps a wrong key, a missing model, garbage and a timeout', async () => {
    const { backend } = make([ep('a', a), ep('slow', b, { timeoutMs: 100 })]);
    const wrong = new OpenAIBackend({
      getEndpoints: () => [ep('a', a)],
      env: { TEST_OPENAI_KEY: 'sk-wrong-000000000' },
    });
    await expect(collect(wrong.chat(ask('openai:a/m1')))).rejects.toMatchObject({
      code: 'BadResponse',
      message: expect.stringContaining('Incorrect API key'),
    });
    await expect(collect(backend.chat(ask('openai:a/nope')))).rejects.toMatchObject({ code: 'ModelNotFound' });
    a.addFault({ kind: 'garbage' });
    await expect(collect(backend.chat(ask('openai:a/m1')))).rejects.toMatchObject({ code: 'BadResponse' });
    for (let i = 0; i < 3; i++) b.addFault({ kind: 'delay', ms: 400 });
    await expect(collect(backend.chat(ask('openai:slow/m1')))).rejects.toMatchObject({ code: 'Timeout' });
    const nokey = new OpenAIBackend({ getEndpoints: () => [ep('a', a)], env: {} });
    await expect(collect(nokey.chat(ask('openai:a/m1')))).rejects.toMatchObject({
      message: expect.stringContaining('TEST_OPENAI_KEY is not set'),
    });
  });

  it('rate-limits per endpoint with its token bucket', async () => {
    const { backend, clock } = make([ep('a', a, { requestsPerMinute: 2 })]);
    for (let i = 0; i < 3; i++) await collect(backend.chat(ask('openai:a/m1')));
    // 2 per minute: the third request waits about 30 s for a token (real time moves a little meanwhile).
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThan(29_000);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(30_000);
  });

  it('stops at once when the caller aborts', async () => {
    const { backend } = make([ep('a', a, { failover: ['b'] }), ep('b', b)]);
    const ac = new AbortController();
    a.addFault({ kind: 'delay', ms: 300 });
    setTimeout(() => ac.abort(), 50);
    await expect(collect(backend.chat(ask('openai:a/m1', 'x', ac.signal)))).rejects.toMatchObject({ code: 'Aborted' });
  });

  it('asks for JSON of the schema as a strict json_schema response format, objects closed as strict needs', async () => {
    const { backend } = make([ep('a', a)]);
    const schema = {
      type: 'object',
      properties: {
        category: { enum: ['simple', 'complex'] },
        tags: { type: 'array', items: { type: 'object', properties: { t: { type: 'string' } } } },
      },
    };
    const { text } = await collect(backend.chat({ ...ask('openai:a/m1'), jsonSchema: schema }));
    expect(JSON.parse(text)).toEqual({ category: 'simple', tags: [] });
    expect(a.chatRequests().at(-1)?.body?.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        strict: true,
        schema: {
          type: 'object',
          properties: {
            category: { enum: ['simple', 'complex'] },
            tags: {
              type: 'array',
              items: {
                type: 'object',
                properties: { t: { type: 'string' } },
                additionalProperties: false,
                required: ['t'],
              },
            },
          },
          additionalProperties: false,
          required: ['category', 'tags'],
        },
      },
    });
    expect(schema).not.toHaveProperty('additionalProperties'); // the setting itself is left as written
  });

  it("passes on the endpoint's refusal of a schema strict mode cannot take", async () => {
    const { backend } = make([ep('a', a)]);
    const schema = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true };
    await expect(collect(backend.chat({ ...ask('openai:a/m1'), jsonSchema: schema }))).rejects.toThrow(
      "Invalid schema for response_format 'answer': In context=(), 'additionalProperties' is required to be supplied and to be false.",
    );
  });
});
