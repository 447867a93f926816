// A long conversation and a long question on real node-llama-cpp: the context is sized from the model (its
// trained context, written by make-gguf --context), the prompt budget comes from the context the sequence really
// has, the oldest history goes first and the question reaches the model whole; a question that cannot fit is
// refused with the limit instead of being cut.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botSchema, defaultSettings, type BotConfig } from '../../main/common/settings-schema.ts';
import type { BotConnection } from '../../main/core/bots/bot-client.ts';
import { LoopGuard } from '../../main/core/bots/loop-guard.ts';
import type { MessageView } from '../../main/core/bots/mentions.ts';
import { runReply, type ReplyJobDeps } from '../../main/core/bots/reply-job.ts';
import { BotStateStore } from '../../main/core/bots/state-store.ts';
import { systemClock, type BotInference, type RawEvent } from '../../main/core/bots/types.ts';
import { LlamaBackend } from '../../main/core/inference/llama/llama-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { tinyModel } from '../support/models.ts';

const OWNER = '@ada:hs.test';
const BOT = '@qwen:hs.test';
const dir = mkdtempSync(join(tmpdir(), 'context-fit-'));
let backend: LlamaBackend;
let router: InferenceRouter;
let bigModel: string;
let smallModel: string;

beforeAll(async () => {
  bigModel = await tinyModel({ context: 8192 });
  smallModel = await tinyModel();
  // No contextSize: each model's context is sized from the model and the budget, as in the product.
  backend = new LlamaBackend({ threads: 1, gpu: false, sequences: 2, maxContextTokens: 8192 });
  router = new InferenceRouter({ backends: [backend], getSettings: defaultSettings });
});
afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A long question: distinct first and last words, so a cut at either end shows. */
const question = `@qwen QSTART ${Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ')} ${'please read all of it '.repeat(40)}QEND`;

function conversation(n: number, last: string): RawEvent[] {
  const events: RawEvent[] = [];
  for (let i = 1; i <= n; i++) {
    const sender = i % 2 ? OWNER : BOT;
    events.push({
      event_id: `$m${i}`,
      type: 'm.room.message',
      sender,
      origin_server_ts: i,
      content: { msgtype: 'm.text', body: `message ${i} of the long talk about boats` },
    });
  }
  events.push({
    event_id: '$q',
    type: 'm.room.message',
    sender: OWNER,
    origin_server_ts: n + 1,
    content: { msgtype: 'm.text', body: last },
  });
  return events;
}

/** What runReply needs of a bot's Matrix connection: the room's events and a record of what it sent. */
function fakeConnection(events: RawEvent[]) {
  const sent: Array<Record<string, unknown>> = [];
  const conn = {
    userId: BOT,
    recentEvents: async () => events,
    fetchEvent: async (_room: string, id: string) => events.find((e) => e.event_id === id),
    typing: async () => undefined,
    send: async (_room: string, _type: string, content: Record<string, unknown>) => {
      sent.push(content);
      return `$reply${sent.length}`;
    },
  };
  return { conn: conn as unknown as BotConnection, sent };
}

async function reply(bot: BotConfig, events: RawEvent[], promptTokens: number | 'model budget' = 3072) {
  const { conn, sent } = fakeConnection(events);
  const inference: BotInference = {
    chat: (r) => router.chat(r),
    countTokens: (b, text) => router.countTokens(b.model, text),
    promptBudget: (b, signal) => router.promptBudget(b, signal ? { signal } : {}),
  };
  const deps: ReplyJobDeps = {
    conn,
    state: new BotStateStore(dir, bot.id),
    bot,
    displayName: 'Qwen',
    inference,
    guard: new LoopGuard({ maxHops: 3, roomTokensPerHour: 0 }),
    clock: systemClock,
    participants: async () => [
      { userId: OWNER, displayName: 'Ada' },
      { userId: BOT, displayName: 'Qwen', model: bot.model },
    ],
    contextMessages: 100,
    // A cap from the runner's options, or none: the model's own budget.
    ...(promptTokens === 'model budget' ? {} : { promptTokens }),
    editsPerSecond: 10,
  };
  const trigger: MessageView = {
    triggerId: '$q',
    sender: OWNER,
    body: question,
    mentionedUserIds: [BOT],
    fromBot: false,
  };
  const outcome = await runReply(
    { roomId: '!room:hs.test', trigger, cutoffTs: Number.MAX_SAFE_INTEGER, turn: { origin: '$q', hop: 0 } },
    deps,
    new AbortController().signal,
  );
  const last = sent.at(-1);
  const finalBody = String((last?.['m.new_content'] as { body?: unknown } | undefined)?.body ?? last?.body ?? '');
  return { outcome, finalBody };
}

/** The tokens the model's sequence holds after the reply: the prompt that reached it, then the answer. */
async function promptSeenBy(path: string): Promise<{ text: string; contextSize: number }> {
  const lease = await backend.pool.acquire(path);
  try {
    return {
      text: lease.model.detokenize(lease.sequence.contextTokens, true),
      contextSize: lease.sequence.contextSize,
    };
  } finally {
    lease.release();
  }
}

describe('a prompt that fits the model', () => {
  it('answers a 60-message conversation with a long question: the question whole, the oldest history dropped', async () => {
    const bot = botSchema.parse({
      id: 'qwen',
      displayName: 'Qwen',
      model: `llama:${bigModel}`,
      maxTokens: 16,
      systemPrompt: 'You are {display_name}.',
    });
    expect(await router.countTokens(bot.model, question)).toBeGreaterThan(2048); // more than the old fixed context
    const { outcome, finalBody } = await reply(bot, conversation(60, question));
    expect(finalBody).not.toContain('could not be completed');
    expect(outcome.kind).toBe('done');
    const seen = await promptSeenBy(bigModel);
    expect(seen.contextSize).toBeGreaterThanOrEqual(8192);
    expect(seen.text).toContain(`Ada: ${question}`);
    expect(seen.text).toContain('message 60 of the long talk');
    expect(seen.text).not.toContain('message 1 of the long talk');
  });

  it("without a cap, the model's own budget holds a conversation longer than the old fixed 3072 tokens", async () => {
    const bot = botSchema.parse({
      id: 'qwen',
      displayName: 'Qwen',
      model: `llama:${bigModel}`,
      maxTokens: 16,
      systemPrompt: 'You are {display_name}.',
    });
    const talk = conversation(90, '@qwen and the boats?');
    const capped = await reply(bot, talk, 3072);
    expect(capped.outcome.kind).toBe('done');
    expect((await promptSeenBy(bigModel)).text).not.toContain('message 1 of the long talk');
    const { outcome } = await reply(bot, talk, 'model budget');
    expect(outcome.kind).toBe('done');
    const seen = await promptSeenBy(bigModel);
    expect(seen.text).toContain('message 90 of the long talk');
    expect(seen.text).toContain('message 1 of the long talk');
  });

  it('refuses a question longer than the model can take, with the limit and what to do', async () => {
    const bot = botSchema.parse({
      id: 'small',
      displayName: 'Qwen',
      model: `llama:${smallModel}`,
      maxTokens: 2048,
      systemPrompt: 'You are {display_name}.',
    });
    const budget = await router.promptBudget(bot);
    expect(budget).toMatchObject({ contextTokens: 2048, answerTokens: 512 });
    const { outcome, finalBody } = await reply(bot, conversation(4, question));
    expect(outcome.kind).toBe('failed');
    expect(finalBody).toMatch(
      /^⚠️ The answer could not be completed: The message is about \d+ tokens, but llama:\S+ takes at most \d+ tokens for it \(a context of 2048 tokens: 512 kept for the answer/,
    );
    expect(finalBody).toContain('Shorten the message');
  });
});
