// The local Ollama and OpenAI-compatible servers checked against examples recorded from the published
// docs (ollama/ollama docs/api.md; OpenAI's chat completions reference): same fields, same types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeModel, OllamaTestServer } from '../support/ollama-server.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

/** The structure of a JSON value: keys and value types, arrays by their first element. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v === null) return 'null';
  if (typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as object)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, shape(x)]),
    );
  return typeof v;
}

const OLLAMA_DOCS = {
  version: { version: '0.5.1' },
  tags: {
    models: [
      {
        name: 'deepseek-r1:latest',
        model: 'deepseek-r1:latest',
        modified_at: '2025-05-10T08:06:48.639712648-07:00',
        size: 4683075271,
        digest: '0a8c26691023e5f2f0bbc3e1d8c1a3c8e3b0f1c2d3e4f5a6b7c8d9e0f1a2b3c4',
        details: {
          parent_model: '',
          format: 'gguf',
          family: 'qwen2',
          families: ['qwen2'],
          parameter_size: '7.6B',
          quantization_level: 'Q4_K_M',
        },
      },
    ],
  },
  chatPart: {
    model: 'llama3.2',
    created_at: '2023-08-04T08:52:19.385406455-07:00',
    message: { role: 'assistant', content: 'The' },
    done: false,
  },
  chatFinal: {
    model: 'llama3.2',
    created_at: '2023-08-04T19:22:45.499127Z',
    message: { role: 'assistant', content: '' },
    done_reason: 'stop',
    done: true,
    total_duration: 4883583458,
    load_duration: 1334875,
    prompt_eval_count: 26,
    prompt_eval_duration: 342546000,
    eval_count: 282,
    eval_duration: 4535599000,
  },
  pullProgress: {
    status: 'pulling 8eeb52dfb3bb',
    digest: 'sha256:8eeb52dfb3bb9aefdf9d1ef24b3bdbcfbf8ab47ec2c9c6a6e9a1b2c3d4e5f6a7',
    total: 2142590208,
    completed: 241970,
  },
  notFound: { error: 'model "mistral" not found, try pulling it first' },
};

const OPENAI_DOCS = {
  models: {
    object: 'list',
    data: [{ id: 'model-id-0', object: 'model', created: 1686935002, owned_by: 'organization-owner' }],
  },
  chunk: {
    id: 'chatcmpl-123',
    object: 'chat.completion.chunk',
    created: 1694268190,
    model: 'gpt-4o-mini',
    system_fingerprint: 'fp_44709d6fcb',
    choices: [{ index: 0, delta: { content: 'Hello' }, logprobs: null, finish_reason: null }],
  },
  completion: {
    id: 'chatcmpl-123',
    object: 'chat.completion',
    created: 1677652288,
    model: 'gpt-4o-mini',
    system_fingerprint: 'fp_44709d6fcb',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello there', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
  },
  error: {
    error: {
      message: 'Incorrect API key provided: sk-abc*****wxyz.',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_api_key',
    },
  },
};

describe('local Ollama server vs docs/api.md', () => {
  let s: OllamaTestServer;
  beforeAll(
    async () => (s = await OllamaTestServer.start({ models: [fakeModel('llama3.2')], registry: [fakeModel('tiny')] })),
  );
  afterAll(() => s.close());
  const post = (path: string, body: unknown) =>
    fetch(`${s.url}${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('version, tags, 404 bodies', async () => {
    expect(shape(await (await fetch(`${s.url}/api/version`)).json())).toEqual(shape(OLLAMA_DOCS.version));
    expect(shape(await (await fetch(`${s.url}/api/tags`)).json())).toEqual(shape(OLLAMA_DOCS.tags));
    const r = await post('/api/chat', { model: 'mistral', messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual(OLLAMA_DOCS.notFound);
    expect((await post('/api/chat', { messages: [] })).status).toBe(400);
  });

  it('streams NDJSON by default and one object with stream:false', async () => {
    const r = await post('/api/chat', {
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'why is the sky blue' }],
    });
    expect(r.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await r.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(shape(lines[0])).toEqual(shape(OLLAMA_DOCS.chatPart));
    expect(shape(lines.at(-1))).toEqual(shape(OLLAMA_DOCS.chatFinal));
    const one = await (
      await post('/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] })
    ).json();
    expect(one).toMatchObject({ done: true, message: { content: 'Echo: hi' } });
  });

  it('streams pull progress and records keep_alive', async () => {
    const lines = (await (await post('/api/pull', { model: 'tiny' })).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(shape(lines.find((l) => 'completed' in l))).toEqual(shape(OLLAMA_DOCS.pullProgress));
    expect(lines.at(-1)).toEqual({ status: 'success' });
    await post('/api/chat', { model: 'tiny', keep_alive: '10m', messages: [] });
    expect(s.requestsTo('/api/chat').at(-1)?.body?.keep_alive).toBe('10m');
    expect(s.loaded.get('tiny:latest')?.keepAlive).toBe('10m');
  });
});

describe('local OpenAI-compatible server vs the API reference', () => {
  let s: OpenAITestServer;
  beforeAll(async () => (s = await OpenAITestServer.start({ models: ['gpt-4o-mini'], apiKey: 'sk-good-123456789' })));
  afterAll(() => s.close());
  const auth = { authorization: 'Bearer sk-good-123456789' };
  const chat = (body: unknown, headers: Record<string, string> = auth) =>
    fetch(`${s.url}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });

  it('models list and the error body for a wrong key', async () => {
    expect(shape(await (await fetch(`${s.url}/models`, { headers: auth })).json())).toEqual(shape(OPENAI_DOCS.models));
    const r = await chat({ model: 'gpt-4o-mini', messages: [] }, { authorization: 'Bearer sk-bad-0000000000' });
    expect(r.status).toBe(401);
    expect(shape(await r.json())).toEqual(shape(OPENAI_DOCS.error));
  });

  it('SSE chunks, usage with include_usage, then [DONE]; one body without stream', async () => {
    const r = await chat({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await r.text())
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events
      .slice(0, -1)
      .map((e) => JSON.parse(e) as Record<string, unknown> & { choices: Array<{ finish_reason: unknown }> });
    // With include_usage every chunk carries usage: null; the docs' example was taken without it.
    const { usage, ...plain } = chunks[1] as Record<string, unknown>;
    expect(usage).toBeNull();
    expect(shape(plain)).toEqual(shape(OPENAI_DOCS.chunk));
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
    expect(
      shape(await (await chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).json()),
    ).toEqual(shape(OPENAI_DOCS.completion));
  });

  it('rejects what the real server rejects; 429 carries Retry-After', async () => {
    expect((await chat({ model: 'gpt-4o-mini', stream_options: { include_usage: true }, messages: [] })).status).toBe(
      400,
    );
    expect(
      (await chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x', name: 'has space' }] })).status,
    ).toBe(400);
    expect((await chat({ model: 'gpt-5-imaginary', messages: [] })).status).toBe(404);
    s.addFault({ kind: 'rate-limit', retryAfterSeconds: 20 });
    const r = await chat({ model: 'gpt-4o-mini', messages: [] });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('20');
    expect(await r.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
  });
});
