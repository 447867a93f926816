// 100 streaming requests at once from one key against a real serve with a bot on the same local model (the test
// homeserver standing in for Conduit, the generated tiny model on one thread, the API's default limits but 8 running
// per key, more than the model's 4 sequences, so API requests also wait in the pool): the limits bound the flood
// (429 with Retry-After, serve keeps answering), every admitted stream completes, and a mention sent meanwhile is
// answered before any API request that was still waiting for its turn ends.
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { outcomes } from '../support/faults/replies.ts';
import { closeStack, openStack, type Stack } from '../support/faults/scenarios.ts';
import { botSettings, makeDataDir, waitForTimeline } from '../support/faults/stack.ts';
import { tinyModel } from '../support/models.ts';

interface StreamRecord {
  status: 'pending' | 'ok' | 'refused' | 'failed';
  firstAt?: number;
  endAt?: number;
  completionTokens?: number;
  retryAfter?: number;
  error?: string;
}

interface Health {
  sequencesInUse?: number;
  api?: { running: number; queued: number; refused: number };
}

const stacks: Stack[] = [];
afterAll(async () => {
  for (const s of stacks) await closeStack(s);
});

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs one streaming request, keeping what happens in `rec` as it happens. */
async function oneStream(client: OpenAI, model: string, maxTokens: number, rec: StreamRecord): Promise<void> {
  try {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Write on.' }],
      max_tokens: maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      if (rec.firstAt === undefined && chunk.choices[0]?.delta.content) rec.firstAt = Date.now();
      if (chunk.usage) rec.completionTokens = chunk.usage.completion_tokens;
    }
    rec.endAt = Date.now();
    rec.status = 'ok';
  } catch (err) {
    if (err instanceof OpenAI.RateLimitError) {
      rec.status = 'refused';
      rec.retryAfter = Number(err.headers.get('retry-after'));
    } else {
      rec.status = 'failed';
      rec.error = String(err);
    }
  }
}

describe('a flood of API requests beside the room', () => {
  it('bounds 100 concurrent streams from one key, completes every admitted one, and answers a mention first', async () => {
    const model = `llama:${await tinyModel()}`;
    const dir = makeDataDir(
      botSettings([{ id: 'assistant', model, maxTokens: 24 }], { api: { maxConcurrent: 8, maxQueued: 12 } }),
    );
    const created = await runCli(['--data-dir', dir, 'api-key', 'create', 'flood']);
    const key = created.output.match(/\bar-[A-Za-z0-9_-]{43}\b/)![0];
    const stack = await openStack(dir);
    stacks.push(stack);
    const base = stack.serve.controlUrl;
    const health = async () => (await (await fetch(`${base}/health`)).json()) as Health;
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });

    const maxTokens = 600;
    const records: StreamRecord[] = Array.from({ length: 100 }, () => ({ status: 'pending' }));
    const flood = records.map((rec) => oneStream(client, model, maxTokens, rec));
    // The flood is in: 8 admitted requests running (4 streaming, 4 waiting for a sequence), 12 queued.
    await until('the flood to fill the limits', async () => {
      const h = await health();
      const streaming = records.filter((r) => r.firstAt !== undefined).length;
      const refused = records.filter((r) => r.status === 'refused').length;
      return h.api?.running === 8 && h.api.queued === 12 && h.sequencesInUse === 4 && streaming === 4 && refused === 80;
    });
    // Admitted, but not streaming yet: each waits for a sequence (4) or for its key's turn (12).
    const waiting = records.filter((r) => r.status === 'pending' && r.firstAt === undefined);
    const mentionId = await stack.owner.mention([stack.botUserId], 'hello, are you there?');
    await waitForTimeline(
      stack.owner,
      'the mention to be answered',
      (ev) => outcomes(ev, [mentionId], stack.botUserId)[0]!.replies.find((r) => r.final),
      60_000,
    );
    await Promise.all(flood);

    const ok = records.filter((r) => r.status === 'ok');
    const refused = records.filter((r) => r.status === 'refused');
    expect(records.filter((r) => r.status === 'failed')).toEqual([]);
    expect(ok).toHaveLength(20); // 8 running + 12 queued
    expect(refused).toHaveLength(80);
    for (const r of refused) expect(r.retryAfter).toBeGreaterThanOrEqual(1);
    for (const r of ok) expect(r.completionTokens).toBe(maxTokens);

    // When the bot's answer ended (the audit trail: server-side start plus duration).
    const { output } = await runCli(['--data-dir', dir, 'audit', '--json']);
    const calls = JSON.parse(output.slice(output.indexOf('['))) as Array<{
      botId: string;
      at: number;
      durationMs: number;
      outcome: string;
    }>;
    const botCall = calls.find((c) => c.botId === 'assistant');
    expect(botCall?.outcome).toBe('ok');
    const botDone = botCall!.at + botCall!.durationMs;
    // Every request that was waiting when the mention came ended after the bot's answer: the bot took the first
    // sequence that freed, before the four API requests already waiting in the pool.
    expect(waiting).toHaveLength(16);
    for (const r of waiting) expect(r.endAt!).toBeGreaterThan(botDone);

    const after = await until('every sequence to be free', async () => {
      const h = await health();
      return h.sequencesInUse === 0 && h.api?.running === 0 && h;
    });
    expect(after.api).toMatchObject({ running: 0, queued: 0, refused: 80 });
  }, 180_000);
});
