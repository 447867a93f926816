// A reply's history comes from what the sync already carried, with no homeserver round trip before inference,
// and is the same context /messages would have given; when the sync did not reach back far enough, /messages.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import { buildContext } from '../../main/core/bots/context.ts';
import { threadEvents } from '../../main/core/bots/reply-job.ts';
import type { ChatMessage } from '../../main/core/bots/types.ts';
import { finalEdit, makeTeam, repliesFrom, runner, say, waitFor, type Team } from '../support/bots-harness.ts';

let team: Team;
let bots: BotRunner | undefined;
/** Every request the bots made (not /sync), in order: method, path and query. */
const requests: string[] = [];
/** The messages of every inference request, by the event answered (the last message's text). */
const prompts: ChatMessage[][] = [];

const recordingFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const { pathname, search } = new URL(url);
  if (!pathname.endsWith('/sync')) requests.push(`${init?.method ?? 'GET'} ${pathname}${search}`);
  return globalThis.fetch(input, init);
};

function start(stateDir: string): Promise<void> {
  bots = runner(team, {
    stateDir,
    fetchFn: recordingFetch,
    inference: {
      ...team.inference,
      chat: (r) => {
        prompts.push(r.messages);
        return team.inference.chat(r);
      },
    },
  });
  return bots.start(new AbortController().signal);
}

const qwen = () => team.provision.bots[0]!;
const roomId = () => team.provision.roomId;
/** Requests for room history: /messages (a gap's paging included), /context, /event. */
const historyRequests = (made: string[]) => made.filter((r) => /\/(messages|context|event)[/?]/.test(`${r}/`));

/** Sends a mention, waits for the finished reply; returns the prompt the model got and the requests made meanwhile. */
async function ask(content: Record<string, unknown>) {
  const before = requests.length;
  const promptsBefore = prompts.length;
  const id = await say(team, content);
  const reply = await waitFor('the reply', () =>
    repliesFrom(team, qwen().userId).find(
      (e) =>
        (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
          ?.event_id === id,
    ),
  );
  await waitFor('its final edit', () =>
    reply.content['org.agentroom.final'] === true ? reply : finalEdit(team, reply.event_id),
  );
  expect(prompts.length).toBe(promptsBefore + 1);
  return { id, prompt: prompts.at(-1)!, requests: requests.slice(before) };
}

/** The context built as before: from the homeserver's /messages, with the runner's options. */
async function fromHomeserver(triggerId: string, threadRoot?: string): Promise<ChatMessage[]> {
  const w = bots!.workers[0]!;
  const cutoff = ((await team.owner.fetchRoomEvent(roomId(), triggerId)) as { origin_server_ts: number })
    .origin_server_ts;
  const all = (await w.conn.recentEvents(roomId(), 60)).filter((e) => e.origin_server_ts <= cutoff);
  return buildContext(threadRoot ? threadEvents(all, threadRoot) : all, {
    bot: { userId: qwen().userId, displayName: qwen().displayName, systemPrompt: 'You are {display_name}.' },
    participants: await bots!.participants(w, roomId()),
    triggerId,
    maxMessages: team.settings.guard.contextMessages,
    maxTokens: 400,
    countTokens: (t) => team.backend.countTokens(team.settings.bots[0]!.model, t),
  });
}

beforeAll(async () => {
  // Direct messages off: with one bot the room has two members, and every message would be answered.
  team = await makeTeam(
    ['qwen'],
    { allowDirectMessages: false, rateLimit: { maxRequests: 100, windowSeconds: 60 } },
    8,
  );
  await start(team.stateDir);
}, 60_000);
afterAll(async () => {
  await bots?.stop(5000);
  await team?.close();
});

describe('context from the sync', () => {
  it('answers a mention whose history the sync carried with no /messages, /context or /event request, and the same context', async () => {
    await say(team, { msgtype: 'm.text', body: 'the boat is called Tern' });
    const typo = await say(team, { msgtype: 'm.text', body: 'it is bleu' });
    await say(team, {
      msgtype: 'm.text',
      body: '* it is blue',
      'm.new_content': { msgtype: 'm.text', body: 'it is blue' },
      'm.relates_to': { rel_type: 'm.replace', event_id: typo },
    });
    const secret = await say(team, { msgtype: 'm.text', body: 'a secret' });
    await team.owner.redactEvent(roomId(), secret);
    await waitFor('the redaction to reach the bot', () =>
      bots!.workers[0]!.conn.client.getRoom(roomId())?.findEventById(secret)?.isRedacted(),
    );
    const { id, prompt, requests: made } = await ask({ msgtype: 'm.text', body: '@qwen what is the boat called?' });
    expect(historyRequests(made)).toEqual([]);
    expect(made.some((r) => r.includes('/send/'))).toBe(true); // the recorder saw the reply's requests
    const text = prompt.map((m) => m.content).join('\n');
    expect(text).toContain('the boat is called Tern');
    expect(text).toContain('it is blue');
    expect(text).not.toContain('bleu');
    expect(text).not.toContain('a secret');
    expect(prompt).toEqual(await fromHomeserver(id));
  });

  it('a mention after !reset and one in a thread: the same context as from /messages', async () => {
    await say(team, { msgtype: 'm.text', body: '!reset' });
    await say(team, { msgtype: 'm.text', body: 'a new topic: kites' });
    const a = await ask({ msgtype: 'm.text', body: '@qwen and now?' });
    expect(historyRequests(a.requests)).toEqual([]);
    expect(a.prompt.map((m) => m.content).join('\n')).not.toContain('Tern');
    expect(a.prompt).toEqual(await fromHomeserver(a.id));

    const root = await say(team, { msgtype: 'm.text', body: 'a thread about red kites' });
    await say(team, { msgtype: 'm.text', body: 'outside the thread', 'm.mentions': {} });
    const t = await ask({
      msgtype: 'm.text',
      body: '@qwen in here',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: root },
      },
    });
    const text = t.prompt.map((m) => m.content).join('\n');
    expect(text).toContain('red kites');
    expect(text).not.toContain('outside the thread');
    expect(t.prompt).toEqual(await fromHomeserver(t.id, root));
  });

  it('reads /messages when the sync did not reach back far enough: a bot new to a long room', async () => {
    await bots!.stop(5000);
    // A bot new to the room answers nothing from before its start (the earlier mentions are answered already).
    team.settings.guard = { ...team.settings.guard, ignoreHistoryOlderThanSeconds: 0 };
    await say(team, { msgtype: 'm.text', body: 'the anchor is called Hold' });
    // More events than a first sync carries (30), none of them a message of the conversation.
    for (let i = 0; i < 32; i++) await say(team, { msgtype: 'm.notice', body: `notice ${i}` });
    // No saved sync token: the first sync carries the newest 30 events only.
    await start(mkdtempSync(join(tmpdir(), 'bots-state-')));
    const { id, prompt, requests: made } = await ask({ msgtype: 'm.text', body: '@qwen what is the anchor called?' });
    // One /messages read for the context (no `from`: the newest events; a gap's paging has one).
    expect(historyRequests(made).filter((r) => !r.includes('from='))).toEqual([
      expect.stringMatching(/^GET .*\/messages\?/),
    ]);
    expect(prompt.map((m) => m.content).join('\n')).toContain('the anchor is called Hold');
    expect(prompt).toEqual(await fromHomeserver(id));
  });
});
