// Pipelines in the room, on the test homeserver (and on Synapse through npm run test:external): `!run triage …` and a
// mention of a bot bound to the pipeline run three stages, the first and the third on real node-llama-cpp generation
// (the tiny model, 1 thread, few tokens), the second on the scripted OpenAI-compatible server, which answers
// {"category":"complex"} when the request says "hard" and {"category":"simple"} otherwise: the third stage's condition
// `category == 'complex'` skips it for one request and runs it for the other. Each stage streams into a thread under the
// request, the answer is the reply; a failing stage ends the run with a notice naming it; !stop stops a running one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { ReplyOutcome } from '../../main/core/bots/reply-job.ts';
import type { BotInference, RawEvent } from '../../main/core/bots/types.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { makeTeam, mentionLog, runner, say, waitFor, waitIdle, type Team } from '../support/bots-harness.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

const CATEGORY = {
  type: 'object',
  properties: { category: { enum: ['simple', 'complex'] } },
  required: ['category'],
  additionalProperties: false,
};

let team: Team;
let bots: BotRunner;
let judge: OpenAITestServer;
const pace = { chunkDelayMs: 0 };
const outcomes = new Map<string, ReplyOutcome>();
const log = mentionLog();

const rel = (e: RawEvent) => e.content['m.relates_to'] as Record<string, unknown> | undefined;
const botUser = () => team.provision.bots[0]!.userId;
const fromBot = (e: RawEvent) => e.sender === botUser() && e.type === 'm.room.message';

/** The thread under the request: the bot's stage messages, in order, each with its latest text. */
function stages(requestId: string): Array<{ event: RawEvent; text: string }> {
  return team.seen
    .filter((e) => fromBot(e) && rel(e)?.rel_type === 'm.thread' && rel(e)?.event_id === requestId)
    .map((event) => {
      const edits = team.seen.filter((e) => rel(e)?.rel_type === 'm.replace' && rel(e)?.event_id === event.event_id);
      const last = edits.at(-1)?.content['m.new_content'] as { body?: string } | undefined;
      return { event, text: last?.body ?? (event.content.body as string) };
    });
}

/** The answer: the bot's reply to the request in the room (not in the thread). */
const answerTo = (requestId: string, timeoutMs = 30_000) =>
  waitFor(
    `the answer to ${requestId}`,
    () =>
      team.seen.find(
        (e) =>
          fromBot(e) &&
          rel(e)?.rel_type === undefined &&
          (rel(e)?.['m.in_reply_to'] as { event_id?: string } | undefined)?.event_id === requestId,
      ),
    timeoutMs,
  );

beforeAll(async () => {
  team = await makeTeam(['triage']);
  judge = await OpenAITestServer.start({
    models: ['classifier'],
    reply: ({ lastUser }) => JSON.stringify({ category: /\bhard\b/i.test(lastUser) ? 'complex' : 'simple' }),
  });
  const tiny = team.settings.bots[0]!.model;
  team.settings.endpoints.openai = [
    { id: 'judge', url: judge.url, requestsPerMinute: 600, timeoutMs: 5000, failover: [], prices: {} },
  ] as never;
  team.settings.pipelines = [
    {
      name: 'triage',
      stages: [
        { name: 'draft', model: tiny, prompt: 'Answer briefly: {{input}}', maxTokens: 12 },
        {
          name: 'classify',
          model: 'openai:judge/classifier',
          prompt: 'Simple or complex? {{input}}',
          schema: CATEGORY,
        },
        {
          name: 'review',
          model: tiny,
          prompt: 'Improve the answer to "{{input}}": {{draft}}',
          condition: "category == 'complex'",
          maxTokens: 12,
        },
      ],
    },
    {
      name: 'broken',
      stages: [{ name: 'classify', model: 'openai:judge/missing', prompt: '{{input}}', schema: CATEGORY }],
    },
    {
      name: 'slow',
      stages: [
        { name: 'ramble', model: tiny, prompt: '{{input}}', maxTokens: 400 },
        { name: 'after', model: tiny, prompt: '{{previous}}', maxTokens: 4 },
      ],
    },
  ];
  team.settings.bots[0]!.pipeline = 'triage';
  const router = new InferenceRouter({
    backends: [team.backend, new OpenAIBackend({ getEndpoints: () => team.settings.endpoints.openai })],
    getSettings: () => team.settings,
  });
  const inference: BotInference = {
    async *chat(r) {
      for await (const c of router.chat(r)) {
        if (pace.chunkDelayMs > 0 && c.type === 'text') await new Promise((res) => setTimeout(res, pace.chunkDelayMs));
        yield c;
      }
    },
    countTokens: (bot, text) => team.backend.countTokens(bot.model, text),
  };
  bots = runner(team, {
    inference,
    logger: log.logger,
    onReply: (bot, ev, o) => outcomes.set(`${ev}|${bot}`, o),
  });
  await bots.start(new AbortController().signal);
}, 60_000);
afterAll(async () => {
  await bots?.stop(5000);
  await judge?.close();
  await team?.close();
});

describe('pipelines in the room', () => {
  it('!run with a simple request: draft and classify stream into a thread, review is skipped, the answer replies', async () => {
    const id = await say(team, { msgtype: 'm.text', body: '!run triage what is two plus two?' });
    const answer = await answerTo(id);
    expect(answer.content.msgtype).toBe('m.text');
    expect(answer.content['org.agentroom.final']).toBe(true);
    expect(answer.content['m.mentions']).toEqual({ user_ids: [team.provision.owner.userId] });
    expect(answer.content.body).toBe('```json\n{\n  "category": "simple"\n}\n```');
    const thread = stages(id);
    expect(thread.map((s) => s.text.split('\n')[0])).toEqual([
      expect.stringMatching(/^\*\*draft\*\* · `llama:tiny-[\w-]+\.gguf`$/),
      '**classify** · `openai:judge/classifier`',
      "⏭️ **review** skipped: category == 'complex' is false",
    ]);
    // The draft is the tiny model's real generation (12 tokens), streamed and then completed in place.
    expect(outcomes.get(`${id}|triage`)?.kind).toBe('done');
    expect(thread[0]!.text.length).toBeGreaterThan('**draft** · ``'.length + 5);
    expect(thread[1]!.text).toContain('"category": "simple"');
    // Each stage's message goes out as it starts (its heading), then grows by edits as the model writes.
    expect((thread[0]!.event.content.body as string).trim()).toBe(thread[0]!.text.split('\n')[0]);
    const draftEdits = team.seen.filter(
      (e) => rel(e)?.rel_type === 'm.replace' && rel(e)?.event_id === thread[0]!.event.event_id,
    );
    expect(draftEdits.length).toBeGreaterThanOrEqual(1);
    // Stage messages are notices that address nobody and are never final: the answer is the one final message.
    for (const s of thread) {
      expect(s.event.content.msgtype).toBe('m.notice');
      expect(s.event.content['org.agentroom.final']).toBeUndefined();
    }
    // The classifier was asked for JSON of the schema, with the request in its prompt.
    const body = judge.chatRequests().at(-1)!.body!;
    expect(body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'answer', strict: true } });
    expect(JSON.stringify(body.messages)).toContain('Simple or complex? what is two plus two?');
    expect(log.of(id, 'triage')?.outcome).toBe('answered');
  });

  it('!run with a hard request runs the review on the tiny model: its output is the answer', async () => {
    const id = await say(team, { msgtype: 'm.text', body: '!run triage a hard question about entropy' });
    const answer = await answerTo(id);
    const thread = stages(id);
    expect(thread.map((s) => s.text.split('\n')[0]!.split(' · ')[0])).toEqual([
      '**draft**',
      '**classify**',
      '**review**',
    ]);
    expect(thread[1]!.text).toContain('"category": "complex"');
    const outcome = outcomes.get(`${id}|triage`);
    expect(outcome?.kind).toBe('done');
    expect(answer.content.body).toBe(outcome!.text);
    expect(thread[2]!.text.endsWith(outcome!.text)).toBe(true);
  });

  it('runs the pipeline a bot is bound to when it is mentioned, on the message without the mention', async () => {
    const id = await say(team, { msgtype: 'm.text', body: '@triage this one is hard' });
    await answerTo(id);
    expect(stages(id)).toHaveLength(3);
    const asked = JSON.stringify(judge.chatRequests().at(-1)!.body!.messages);
    expect(asked).toContain('Simple or complex? this one is hard');
    expect(asked).not.toContain('@triage');
  });

  it('answers !run alone and an unknown pipeline with a notice listing the pipelines', async () => {
    const alone = await say(team, { msgtype: 'm.text', body: '!run' });
    const unknown = await say(team, { msgtype: 'm.text', body: '!run nope do it' });
    for (const [id, start] of [
      [alone, 'Usage: !run <pipeline> <text>'],
      [unknown, 'No pipeline is called "nope".'],
    ] as const) {
      const notice = await answerTo(id);
      expect(notice.content.msgtype).toBe('m.notice');
      expect(notice.content.body).toMatch(new RegExp(`^${start.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(notice.content.body).toContain('- triage: draft → classify → review');
    }
  });

  it('ends the run at a failing stage with a notice naming it', async () => {
    const id = await say(team, { msgtype: 'm.text', body: '!run broken sort this out' });
    const notice = await answerTo(id);
    expect(notice.content.msgtype).toBe('m.notice');
    expect(notice.content.body).toMatch(/^⚠️ Pipeline "broken" ended at stage "classify": .*classifier|missing/);
    await waitFor('the outcome', () => outcomes.get(`${id}|triage`));
    expect(outcomes.get(`${id}|triage`)?.kind).toBe('failed');
    expect(log.of(id, 'triage')?.outcome).toBe('failed');
  });

  it('!stop stops a running pipeline: the stage says so, no later stage runs, no answer', async () => {
    // Slow enough (400 tokens, 24 s) that the stop, through a loaded homeserver's sync, lands while the stage streams.
    pace.chunkDelayMs = 60;
    const id = await say(team, { msgtype: 'm.text', body: '!run slow tell me everything' });
    await waitFor('the first stage to stream', () => stages(id)[0]?.text.includes('\n\n') && stages(id)[0]);
    const stop = await say(team, { msgtype: 'm.text', body: '!stop' });
    const stopped = await answerTo(stop);
    pace.chunkDelayMs = 0;
    expect(stopped.content.body).toBe('Stopped 1 answer.');
    await waitIdle(bots);
    await waitFor('the stage to say it stopped', () =>
      stages(id)[0]?.text.endsWith('_(stopped: Stopped with !stop.)_'),
    );
    expect(stages(id)).toHaveLength(1);
    expect(outcomes.get(`${id}|triage`)?.kind).toBe('cancelled');
    expect(log.of(id, 'triage')?.outcome).toBe('stopped');
    expect(
      team.seen.some(
        (e) =>
          fromBot(e) &&
          (rel(e)?.['m.in_reply_to'] as { event_id?: string } | undefined)?.event_id === id &&
          !rel(e)?.rel_type,
      ),
    ).toBe(false);
  });
});
