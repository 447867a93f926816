// An external agent as a bot in the room (test homeserver, and Synapse through `npm run test:external`): a program
// (test/support/agent-program.ts) answers as the bot, its output streamed as edits; `!stop` ends its whole process
// tree; a failing agent ends the reply with a clear line, and the bot answers the next mention.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { BotInference } from '../../main/core/bots/types.ts';
import { AgentBackend } from '../../main/core/inference/agent/agent-backend.ts';
import { InferenceRouter } from '../../main/core/inference/router.ts';
import { isRunning } from '../../main/core/lifecycle/process-tree.ts';
import {
  editsOf,
  finalEdit,
  makeTeam,
  mentionLog,
  repliesFrom,
  runner,
  say,
  waitFor,
  waitIdle,
  type Team,
} from '../support/bots-harness.ts';

const PROGRAM = join(process.cwd(), 'test', 'support', 'agent-program.ts');
let team: Team;
let bots: BotRunner;
let pidFile: string;
let CODER: string;
const log = mentionLog();

beforeAll(async () => {
  team = await makeTeam(['coder'], { editsPerSecond: 10 });
  CODER = team.provision.bots[0]!.userId;
  pidFile = join(mkdtempSync(join(tmpdir(), 'bots-agent-')), 'pids');
  const program = (id: string, mode: string) => ({
    id,
    command: process.execPath,
    args: [PROGRAM, mode],
    env: { AGENT_TEST_PID_FILE: pidFile },
  });
  team.settings.agents = settingsSchema.parse({
    agents: [program('slow', 'slow'), program('echo', 'echo'), program('broken', 'fail')],
  }).agents;
  const router = new InferenceRouter({
    backends: [new AgentBackend({ getAgents: () => team.settings.agents, resolveSecret: async () => undefined })],
    getSettings: () => team.settings,
  });
  const inference: BotInference = {
    chat: (r) => router.chat(r),
    countTokens: (b, text) => router.countTokens(b.model, text),
  };
  bots = runner(team, { inference, logger: log.logger });
  await bots.start(new AbortController().signal);
}, 60_000);

afterAll(async () => {
  await bots?.stop(5000);
  await team?.close();
});

const useAgent = (id: string) => {
  team.settings.bots = team.settings.bots.map((b) => ({ ...b, model: `agent:${id}` }));
};

async function mention(text: string): Promise<string> {
  return say(team, { msgtype: 'm.text', body: `@coder ${text}`, 'm.mentions': { user_ids: [CODER] } });
}

const replyTo = (eventId: string) =>
  repliesFrom(team, CODER).find(
    (e) =>
      (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
        ?.event_id === eventId,
  );

const finalBody = (replyId: string): string | undefined => {
  const f = finalEdit(team, replyId);
  return f ? String((f.content['m.new_content'] as { body?: string }).body) : undefined;
};

describe('an external agent as a bot', () => {
  it('streams the program’s output as edits, and !stop ends its process tree', async () => {
    useAgent('slow');
    const id = await mention('run the slow job');
    const reply = await waitFor('the first message', () => replyTo(id));
    expect(String(reply.content.body)).toMatch(/^step \d+/);
    await waitFor('two edits', () => editsOf(team, reply.event_id).length >= 2);
    await say(team, { msgtype: 'm.text', body: '!stop' });
    const text = await waitFor('the closing edit', () => finalBody(reply.event_id));
    expect(text).toMatch(/^step 1\nstep 2\n[\s\S]*\n\n_\(stopped: /);
    expect(log.of(id, 'coder')?.outcome).toBe('stopped');
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBe(2);
    await waitFor('no process left', () => pids.filter(isRunning).length === 0, 5000);
  }, 60_000);

  it('a failing agent ends the reply with a clear line; the bot answers the next mention', async () => {
    useAgent('broken');
    const bad = await mention('try the broken one');
    await waitFor('the failure', () => log.of(bad, 'coder'));
    const reply = await waitFor('the reply', () => replyTo(bad));
    const text = await waitFor('the final text', () =>
      reply.content['org.agentroom.final'] ? String(reply.content.body) : finalBody(reply.event_id),
    );
    expect(text).toContain(
      '⚠️ The answer could not be completed: The agent "broken" exited with code 2: fatal: simulated failure.',
    );
    useAgent('echo');
    const good = await mention('say something');
    await waitFor('the answer', () => log.of(good, 'coder')?.outcome === 'answered');
    await waitIdle(bots);
  }, 60_000);
});
