// The OpenAI-compatible API of a real `agent-room serve` (the built CLI, no homeserver, the generated tiny model on
// one thread), driven by the official `openai` npm client: models, streaming with usage, non-streaming, token
// limits, json_schema, embeddings, every error the API promises, keys made and revoked while serve runs, and a
// client that leaves mid-stream freeing its sequence.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type RunningCli } from '../support/cli.ts';
import { tinyModel } from '../support/models.ts';

let serve: RunningCli;
let dataDir: string;
let base: string;
let controlToken: string;
let key: string;
let model: string;

interface Health {
  services: Array<{ name: string; state: { status: string } }>;
  sequencesInUse?: number;
  api?: { running: number; queued: number; refused: number };
}

const health = async (): Promise<Health> => (await (await fetch(`${base}/health`)).json()) as Health;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function createKey(name: string): Promise<string> {
  const { code, output } = await runCli(['--data-dir', dataDir, 'api-key', 'create', name]);
  expect(code).toBe(0);
  expect(output).toMatch(/will not be shown again/);
  return output.match(/\bar-[A-Za-z0-9_-]{43}\b/)![0];
}

const client = (apiKey = key) => new OpenAI({ apiKey, baseURL: `${base}/v1`, maxRetries: 0 });

async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

beforeAll(async () => {
  model = `llama:${await tinyModel()}`;
  dataDir = mkdtempSync(join(tmpdir(), 'agent-room-api-'));
  const settings = {
    version: 1,
    bots: [
      { id: 'assistant', displayName: 'Assistant', model, maxTokens: 40, localOnly: true },
      // Local-only with only a cloud model: every request is refused before anything leaves this machine.
      { id: 'secretive', displayName: 'Secretive', model: 'openai:cloud/gpt-x', localOnly: true },
    ],
    // Not loopback, so "cloud" to the privacy check; nothing listens there (listing its models fails at once).
    endpoints: { openai: [{ id: 'cloud', url: 'http://0.0.0.0:9/v1', timeoutMs: 1000 }] },
    inference: { threads: 1 },
    api: { requestsPerMinute: 10_000, maxConcurrent: 2, maxQueued: 1 },
  };
  writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settings));
  key = await createKey('tests');
  serve = startCli(['--data-dir', dataDir, 'serve', '--port', '0', '--no-bots'], { AGENT_ROOM_CONDUIT: '' });
  const m = await serve.waitFor(/Chat window: (http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)/);
  base = m[1]!;
  controlToken = m[2]!;
  await serve.waitFor(/OpenAI-compatible API: http:\/\/127\.0\.0\.1:\d+\/v1 +1 key/);
  await until('inference to run', async () =>
    (await health()).services.some((s) => s.name === 'inference' && s.state.status === 'running'),
  );
}, 60_000);

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  await serve?.exited;
});

describe('the /v1 API through the openai client', () => {
  it('lists the bots and the loaded models, and retrieves one', async () => {
    await client().chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    const ids = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toContain('assistant');
    expect(ids).toContain(model);
    expect(await client().models.retrieve('assistant')).toMatchObject({ id: 'assistant', object: 'model' });
  });

  it('streams an answer as SSE ending in [DONE], with usage when include_usage is set', async () => {
    const stream = await client().chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Tell me a story.' }],
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finish: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) finish.push(c.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toEqual(['length']);
    expect(usage).toMatchObject({ completion_tokens: 12 });
    expect(usage!.prompt_tokens).toBeGreaterThan(0);
    expect(usage!.total_tokens).toBe(usage!.prompt_tokens + 12);
  });

  it('answers without streaming, with usage; max_completion_tokens and max_tokens both limit the answer', async () => {
    const a = await client().chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      max_completion_tokens: 5,
      temperature: 0,
      seed: 7,
    });
    expect(a.object).toBe('chat.completion');
    expect(a.choices[0]!.message.role).toBe('assistant');
    expect(a.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(a.choices[0]!.finish_reason).toBe('length');
    expect(a.usage).toMatchObject({ completion_tokens: 5 });
    const b = await client().chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 3,
    });
    expect(b.usage!.completion_tokens).toBe(3);
  });

  it('stops at a stop sequence, with finish_reason stop (greedy sampling: the same text twice)', async () => {
    const ask = (stop?: string) =>
      client().chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Count.' }],
        max_tokens: 60,
        temperature: 0,
        ...(stop ? { stop: [stop] } : {}),
      });
    const full = (await ask()).choices[0]!.message.content!;
    const stop = full.slice(20, 23);
    const cut = await ask(stop);
    expect(cut.choices[0]!.finish_reason).toBe('stop');
    expect(cut.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(stop)));
  });

  it('holds the answer to a json_schema by grammar (the answer parses and fits the schema)', async () => {
    const a = await client().chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Is the sky blue?' }],
      max_tokens: 200,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'verdict',
          strict: true,
          schema: {
            type: 'object',
            properties: { answer: { enum: ['yes', 'no'] }, sure: { type: 'boolean' } },
            required: ['answer', 'sure'],
            additionalProperties: false,
          },
        },
      },
    });
    const parsed = JSON.parse(a.choices[0]!.message.content!) as { answer: string; sure: boolean };
    expect(['yes', 'no']).toContain(parsed.answer);
    expect(typeof parsed.sure).toBe('boolean');
  });

  it('embeds texts with a llama model, as floats and as the base64 the client asks for by default', async () => {
    const floats = await client().embeddings.create({ model, input: ['one', 'two words'], encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]!.embedding).toHaveLength(64);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    const decoded = await client().embeddings.create({ model: 'assistant', input: 'one' });
    expect(Array.from(decoded.data[0]!.embedding)).toHaveLength(64);
    // float32 on the wire: the same vector within float32 precision.
    decoded.data[0]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(floats.data[0]!.embedding[i]!, 4));
  });

  it('answers a bot id as the model with that bot, and the audit trail names the key and the bot', async () => {
    const a = await client().chat.completions.create({
      model: 'assistant',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(a.model).toBe('assistant');
    const { output } = await runCli(['--data-dir', dataDir, 'audit', '--json']);
    const calls = JSON.parse(output.slice(output.indexOf('['))) as Array<{
      botId: string;
      roomId: string;
      model: string;
    }>;
    expect(calls.some((c) => c.botId === 'api:tests/assistant' && c.roomId === 'api' && c.model === model)).toBe(true);
    expect(calls.some((c) => c.botId === 'api:tests')).toBe(true);
  });

  it('401 for a wrong or missing key, 404 for an unknown model, 400 naming the field and the context length', async () => {
    const wrong = await apiError(client('ar-wrongwrongwrongwrongwrongwrongwrongwrongwro').models.list());
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(wrong.code).toBe('invalid_api_key');
    expect((await fetch(`${base}/v1/models`)).status).toBe(401);

    const unknown = await apiError(
      client().chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('model_not_found');

    const bad = await apiError(
      client().chat.completions.create({ model, messages: [{ role: 'robot' as 'user', content: 'hi' }] }),
    );
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe('messages.0.role');

    const long = await apiError(
      client().chat.completions.create({ model, messages: [{ role: 'user', content: 'word '.repeat(3000) }] }),
    );
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    expect(long.code).toBe('context_length_exceeded');
    expect(long.message).toMatch(/maximum context length is 2048 tokens/);
    expect(long.message).toMatch(/you requested \d+ tokens/);
  });

  it("keeps the router's privacy: 403 policy_refused for a local-only bot's cloud model and for sensitive data", async () => {
    const localOnly = await apiError(
      client().chat.completions.create({ model: 'secretive', messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(localOnly).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(localOnly.code).toBe('policy_refused');
    expect(localOnly.message).toMatch(/local-only/);
    const sensitive = await apiError(
      client().chat.completions.create({
        model: 'openai:cloud/gpt-x',
        messages: [{ role: 'user', content: 'My card is 4111 1111 1111 1111, is it valid?' }],
      }),
    );
    expect(sensitive).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(sensitive.code).toBe('policy_refused');
    expect(sensitive.message).toMatch(/card number/);
  });

  it('uses a key created while serve runs at once, and refuses it at once when revoked', async () => {
    const late = await createKey('late');
    expect((await client(late).models.retrieve('assistant')).id).toBe('assistant');
    expect((await runCli(['--data-dir', dataDir, 'api-key', 'revoke', 'late'])).code).toBe(0);
    expect(await apiError(client(late).models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("makes, lists and revokes keys through the window's control API, with the API's base URL", async () => {
    const call = async (channel: string, body?: unknown) => {
      const res = await fetch(`${base}/api/${channel}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${controlToken}` },
        body: body === undefined ? '' : JSON.stringify(body),
      });
      return (await res.json()) as { ok: boolean; value: Record<string, unknown> };
    };
    const made = await call('apiKeys.create', { name: 'window' });
    expect(made.ok).toBe(true);
    const windowKey = made.value.key as string;
    expect((await client(windowKey).models.retrieve('assistant')).id).toBe('assistant');
    const listed = await call('apiKeys.list');
    expect(listed.value.baseUrl).toBe(`${base}/v1`);
    const names = (listed.value.keys as Array<{ name: string; prefix: string }>).map((k) => k.name);
    expect(names).toEqual(expect.arrayContaining(['tests', 'window']));
    expect(JSON.stringify(listed)).not.toContain(windowKey);
    expect((await call('apiKeys.revoke', { name: 'window' })).value).toEqual({ revoked: true });
    expect(await apiError(client(windowKey).models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('frees the sequence at once when the client leaves mid-stream', async () => {
    const stream = await client().chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Go on and on.' }],
      max_tokens: 1900,
      stream: true,
    });
    let chunks = 0;
    for await (const _ of stream) {
      if (++chunks === 3) break; // closes the connection
    }
    const h = await until('the sequence to be freed', async () => {
      const now = await health();
      return now.sequencesInUse === 0 && now.api?.running === 0 && now;
    });
    expect(h.sequencesInUse).toBe(0);
    const status = await runCli(['--data-dir', dataDir, 'status']);
    expect(status.output).toMatch(
      /API: +http:\/\/127\.0\.0\.1:\d+\/v1 — 0 running, 0 waiting, \d+ refused \(429\); model sequences in use: 0/,
    );
    const { output } = await runCli(['--data-dir', dataDir, 'audit', '--json']);
    const calls = JSON.parse(output.slice(output.indexOf('['))) as Array<{ outcome: string }>;
    expect(calls.at(-1)!.outcome).toBe('aborted');
  });

  it('429 with Retry-After past the concurrency and queue limits, and past the per-minute rate', async () => {
    const many = Array.from({ length: 6 }, () =>
      client()
        .chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], max_tokens: 600 })
        .then(
          () => 'ok',
          (e: unknown) => e,
        ),
    );
    const results = await Promise.all(many);
    const refused = results.filter(
      (r): r is InstanceType<typeof OpenAI.RateLimitError> => r instanceof OpenAI.RateLimitError,
    );
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(3); // 2 running + 1 queued
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.code).toBe('queue_full');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }

    const patch = await fetch(`${base}/api/settings.update`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${controlToken}` },
      body: JSON.stringify({ api: { requestsPerMinute: 1 } }),
    });
    expect(patch.status).toBe(200);
    const rated = await createKey('rated');
    await client(rated).chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
    const limited = await apiError(
      client(rated).chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }),
    );
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(Number(limited.headers!.get('retry-after'))).toBeGreaterThan(50);
  });
});
