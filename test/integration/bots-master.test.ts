// The master agent in the room (test homeserver, and Synapse through `npm run test:external`): a bot on a priced
// cloud endpoint answers until the day's budget is spent, then its local model (real node-llama-cpp generation)
// answers, with one notice in the room; a code block goes to the code task's model; `!why` says where the last
// answer came from and why, `!cost` what was spent; the cloud endpoint counts its requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { BotInference, RawEvent } from '../../main/core/bots/types.ts';
import { costText } from '../../main/core/inference/budget.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { whyText } from '../../main/core/inference/why.ts';
import { makeTeam, mentionLog, runner, say, waitFor, waitIdle, type Team } from '../support/bots-harness.ts';
import { hostMappingFetch, OpenAITestServer } from '../support/openai-server.ts';

const MINI = 'openai:cloud/gpt-4o-mini';
let team: Team;
let cloud: OpenAITestServer;
let bots: BotRunner;
let local: string;
/** The bot's user id (on a real homeserver the test accounts carry a suffix per run). */
let CODER: string;
const log = mentionLog();

beforeAll(async () => {
  team = await makeTeam(['coder'], {}, 24);
  local = team.settings.bots[0]!.model;
  CODER = team.provision.bots[0]!.userId;
  cloud = await OpenAITestServer.start({ models: ['gpt-4o-mini'], apiKey: 'sk-cloud-123456789' });
  const parsed = settingsSchema.parse({
    endpoints: {
      openai: [
        {
          id: 'cloud',
          url: 'https://api.cloud.example/v1',
          apiKeyRef: 'k',
          prices: { '*': { input: 100_000, output: 100_000 } },
          budget: { daily: 1 },
        },
      ],
    },
    tasks: [{ name: 'code_review', models: [local], reason: 'Specialized for code, no API costs' }],
    routing: { rules: [{ code: true, task: 'code_review' }] },
  });
  Object.assign(team.settings, { endpoints: parsed.endpoints, tasks: parsed.tasks, routing: parsed.routing });
  team.settings.bots = team.settings.bots.map((b) => ({ ...b, model: MINI, fallback: [local], localOnly: false }));
  const openai = new OpenAIBackend({
    getEndpoints: () => team.settings.endpoints.openai,
    resolveSecret: async () => 'sk-cloud-123456789',
    fetch: hostMappingFetch({ 'api.cloud.example': cloud.url }),
  });
  const router = new InferenceRouter({ backends: [team.backend, openai], getSettings: () => team.settings });
  const inference: BotInference = {
    chat: (r) => router.chat(r),
    countTokens: (b, text) => router.countTokens(b.model, text),
    explain: (roomId) => {
      const d = router.lastDecision(roomId);
      return d ? whyText(d) : undefined;
    },
    costText: () => costText(router.spend()),
  };
  bots = runner(team, { inference, logger: log.logger });
  await bots.start(new AbortController().signal);
}, 60_000);

afterAll(async () => {
  await bots?.stop(5000);
  await cloud?.close();
  await team?.close();
});

const fromCoder = (): RawEvent[] =>
  team.seen.filter(
    (e) =>
      e.sender === CODER &&
      e.type === 'm.room.message' &&
      (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type !== 'm.replace',
  );
const noticesFor = (eventId: string): string[] =>
  fromCoder()
    .filter(
      (e) =>
        e.content.msgtype === 'm.notice' &&
        (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
          ?.event_id === eventId,
    )
    .map((e) => String(e.content.body));
const budgetNotices = (): string[] =>
  fromCoder()
    .map((e) => String(e.content.body))
    .filter((b) => b.startsWith('💸'));

async function mention(body: string): Promise<string> {
  const id = await say(team, { msgtype: 'm.text', body, 'm.mentions': { user_ids: [CODER] } });
  await waitFor(`the answer to "${body}"`, () => log.of(id, 'coder'), 30_000);
  expect(log.of(id, 'coder')?.outcome).toBe('answered');
  return id;
}

async function command(body: string): Promise<string> {
  const id = await say(team, { msgtype: 'm.text', body });
  return waitFor(`the notice for ${body}`, () => noticesFor(id)[0], 20_000);
}

describe('the master agent in the room', () => {
  it('spends the cloud budget, then answers locally with one notice in the room', async () => {
    await mention('@coder hello there');
    expect(cloud.chatRequests()).toHaveLength(1);
    expect(await command('!why')).toMatch(
      /^coder answered with openai:cloud\/gpt-4o-mini \(openai, outside this machine\)/,
    );

    const second = await mention('@coder and now?');
    const notice = await waitFor('the budget notice', () => noticesFor(second)[0], 20_000);
    expect(notice).toMatch(/^💸 cloud spent .* of its daily budget of 1\.00 USD: .* answered by llama:/);
    await mention('@coder once more');
    await waitIdle(bots);
    expect(budgetNotices()).toHaveLength(1);
    expect(cloud.chatRequests()).toHaveLength(1);

    const why = await command('!why');
    expect(why).toMatch(/^coder answered with llama:.* \(llama, on this machine\): fallback #1 of the bot/);
    expect(why).toContain('- Passed over: openai:cloud/gpt-4o-mini: budget: cloud spent');
    expect(await command('!cost')).toMatch(/^- cloud: today \d+\.\d+ USD of 1\.00 USD, this month \d+\.\d+ USD/);
  }, 120_000);

  it('gives a code block to the code task, and !why says so', async () => {
    await mention('@coder please review\n```python\nprint(1)\n```');
    const why = await command('!why');
    expect(why).toMatch(
      /^coder answered with llama:.*task code_review \(rule #1 \(a code block\)\): Specialized for code/,
    );
    expect(why).toContain('- Task: code_review, chosen by rule #1 (a code block).');
    expect(cloud.chatRequests()).toHaveLength(1);
  }, 60_000);
});
