// The bot runner against the test homeserver with real node-llama-cpp generation on the tiny model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { ReplyOutcome } from '../../main/core/bots/reply-job.ts';
import { maxPerSecond } from '../support/send-rate.ts';
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

let team: Team;
let bots: BotRunner;
const outcomes = new Map<string, ReplyOutcome>();
const replyTo = (e: { content: Record<string, unknown> }): string | undefined =>
  (
    (e.content['m.relates_to'] as Record<string, unknown> | undefined)?.['m.in_reply_to'] as
      { event_id?: string } | undefined
  )?.event_id;

function user(id: string): string {
  return team.provision.bots.find((b) => b.id === id)!.userId;
}
/** The finished reply of a bot to a message: its first event and its final edit. */
async function answered(botId: string, mentionId: string, timeoutMs = 30_000) {
  const reply = await waitFor(
    `${botId} to answer ${mentionId}`,
    () => repliesFrom(team, user(botId)).find((e) => replyTo(e) === mentionId),
    timeoutMs,
  );
  const fin = await waitFor(`${botId}'s final edit`, () => finalEdit(team, reply.event_id), timeoutMs);
  return { reply, fin };
}

beforeAll(async () => {
  team = await makeTeam(['qwen', 'mistral', 'coder'], {
    maxHops: 2,
    rateLimit: { maxRequests: 100, windowSeconds: 60 },
  });
  bots = runner(team, { onReply: (bot, ev, o) => outcomes.set(`${ev}|${bot}`, o) });
  await bots.start(new AbortController().signal);
}, 60_000);
afterAll(async () => {
  await bots?.stop(5000);
  await team?.close();
});

describe('bot runner', () => {
  it('answers a mention with a streamed reply: first message, throttled edits, final text = generated text', async () => {
    // About 2 s of streaming (400 chunks, 5 ms apart), as a real model on a real homeserver would.
    team.pace.chunkDelayMs = 5;
    const id = await say(team, { msgtype: 'm.text', body: '@qwen tell me a story' });
    const { reply, fin } = await answered('qwen', id);
    team.pace.chunkDelayMs = 0;
    const edits = editsOf(team, reply.event_id);
    const generated = outcomes.get(`${id}|qwen`);
    expect(generated?.kind).toBe('done');
    expect((fin.content['m.new_content'] as { body: string }).body).toBe(generated?.text);
    expect(fin.content.body).toBe(`* ${generated?.text}`);
    expect((fin.content['m.new_content'] as { formatted_body: string }).formatted_body).not.toContain('<script');
    expect(edits.length).toBeGreaterThanOrEqual(2);
    // The final edit goes out as soon as generation ends; the streamed ones in between keep to 2 a second.
    const streamed = edits.filter((e) => e.content['org.agentroom.final'] !== true);
    expect(edits.filter((e) => e.content['org.agentroom.final'] === true)).toHaveLength(1);
    expect(maxPerSecond([reply, ...streamed].map((e) => e.origin_server_ts))).toBeLessThanOrEqual(3); // first message + 2 edits/s
    expect(maxPerSecond(streamed.map((e) => e.origin_server_ts))).toBeLessThanOrEqual(2);
    // Only the finished answer mentions the person who asked, so their client notifies them once, when it is done.
    expect(reply.content['m.mentions']).toEqual({});
    expect(streamed.every((e) => JSON.stringify(e.content['m.mentions']) === '{}')).toBe(true);
    expect(fin.content['m.mentions']).toEqual({ user_ids: [team.provision.owner.userId] });
    expect((fin.content['m.new_content'] as Record<string, unknown>)['m.mentions']).toEqual({
      user_ids: [team.provision.owner.userId],
    });
    expect((reply.content.body as string).length).toBeLessThan(generated!.text.length);
  });

  it('answers two bots in one message together: the second starts before the first has finished', async () => {
    team.pace.chunkDelayMs = 5;
    const id = await say(team, { msgtype: 'm.text', body: '@mistral and @coder: compare' });
    const [m, c] = await Promise.all([answered('mistral', id), answered('coder', id)]);
    team.pace.chunkDelayMs = 0;
    expect(c.reply.origin_server_ts).toBeLessThan(m.fin.origin_server_ts);
    expect(m.reply.origin_server_ts).toBeLessThan(c.fin.origin_server_ts);
  });

  it('with parallelBots off, answers three bots in one message one after the other, in the order mentioned', async () => {
    team.settings.guard = { ...team.settings.guard, parallelBots: false };
    const id = await say(team, { msgtype: 'm.text', body: '@mistral, @coder and @qwen: one word each' });
    const replies = [];
    for (const b of ['mistral', 'coder', 'qwen']) replies.push(await answered(b, id));
    team.settings.guard = { ...team.settings.guard, parallelBots: true };
    const times = replies.map((r) => r.reply.origin_server_ts);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Each starts after the one before it finished, so it could read that answer.
    for (let i = 1; i < replies.length; i++)
      expect(replies[i]!.reply.origin_server_ts).toBeGreaterThanOrEqual(replies[i - 1]!.fin.origin_server_ts);
  });

  it('answers a pill-only mention as Element sends it', async () => {
    const u = user('coder');
    const id = await say(team, {
      msgtype: 'm.text',
      body: 'Coder: what now?',
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${u}">Coder</a>: what now?`,
      'm.mentions': { user_ids: [u] },
    });
    await answered('coder', id);
  });

  it("answers a reply to a bot's message, and a thread it takes part in", async () => {
    const first = await say(team, { msgtype: 'm.text', body: '@mistral hi' });
    const { reply } = await answered('mistral', first);
    const again = await say(team, {
      msgtype: 'm.text',
      body: 'why?',
      'm.relates_to': { 'm.in_reply_to': { event_id: reply.event_id } },
    });
    await answered('mistral', again);

    const root = await say(team, { msgtype: 'm.text', body: 'a thread' });
    const inThread = await say(team, {
      msgtype: 'm.text',
      body: '@qwen in here',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: root },
      },
    });
    const t1 = await answered('qwen', inThread);
    expect(t1.reply.content['m.relates_to']).toMatchObject({ rel_type: 'm.thread', event_id: root });
    const follow = await say(team, {
      msgtype: 'm.text',
      body: 'and then?',
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: t1.reply.event_id },
      },
    });
    const t2 = await answered('qwen', follow);
    expect(t2.reply.content['m.relates_to']).toMatchObject({ rel_type: 'm.thread', event_id: root });
  });

  it('stops a bot-to-bot chain at the hop cap', async () => {
    team.prefixes.set('qwen', '@coder ');
    team.prefixes.set('coder', '@qwen ');
    const trips = bots.status().loopGuardTrips.hops;
    const before = team.seen.length;
    const id = await say(team, { msgtype: 'm.text', body: '@qwen start the chain' });
    await answered('qwen', id);
    // maxHops 2: the person's message → qwen (hop 1) → coder (2) → qwen (3); qwen's reply trips the guard.
    await waitFor('the hop cap to trip', () => bots.status().loopGuardTrips.hops > trips);
    team.prefixes.clear();
    // Nothing more comes: the runner has no reply left to send, and a later mention to both bots is answered (each
    // bot's replies are queued in order and the owner's timeline is ordered, so the whole chain came before it).
    await waitIdle(bots);
    const marker = await say(team, { msgtype: 'm.text', body: '@qwen @coder that is all' });
    await Promise.all([answered('qwen', marker), answered('coder', marker)]);
    const chain = team.seen
      .slice(before)
      .filter(
        (e) =>
          e.sender !== team.provision.owner.userId &&
          !(e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type &&
          replyTo(e) !== marker,
      );
    expect(chain.map((e) => e.sender)).toEqual([user('qwen'), user('coder'), user('qwen')]);
  });

  it('a redaction cancels a running reply and a waiting one', async () => {
    team.settings.bots[1]!.maxTokens = 1400;
    const running = await say(team, { msgtype: 'm.text', body: '@mistral write a lot' });
    const waiting = await say(team, { msgtype: 'm.text', body: '@mistral and then this' });
    const reply = await waitFor('the long reply to start', () =>
      repliesFrom(team, user('mistral')).find((e) => replyTo(e) === running),
    );
    await waitFor(
      'the second mention to wait behind it',
      () => bots.status().bots.find((b) => b.id === 'mistral')!.queued === 1,
    );
    await team.owner.redactEvent(team.provision.roomId, waiting);
    await team.owner.redactEvent(team.provision.roomId, running);
    const fin = await waitFor('the stopped edit', () => finalEdit(team, reply.event_id));
    team.settings.bots[1]!.maxTokens = 400;
    expect((fin.content['m.new_content'] as { body: string }).body).toContain('stopped');
    expect(outcomes.get(`${running}|mistral`)?.kind).toBe('cancelled');
    // Nothing is queued or running any more: the waiting reply was dropped (had it stayed, it would have started as
    // the running one ended), and it never ran (a reply that ran reports its outcome before it leaves the queue).
    await waitIdle(bots);
    expect(outcomes.has(`${waiting}|mistral`)).toBe(false);
    expect(repliesFrom(team, user('mistral')).some((e) => replyTo(e) === waiting)).toBe(false);
  });

  it('sends the rate-limit notice once per window', async () => {
    await bots.stop(5000);
    team.settings.guard = { ...team.settings.guard, rateLimit: { maxRequests: 2, windowSeconds: 60 } };
    const log = mentionLog();
    bots = runner(team, { logger: log.logger, onReply: (bot, ev, o) => outcomes.set(`${ev}|${bot}`, o) });
    await bots.start(new AbortController().signal);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await say(team, { msgtype: 'm.text', body: `@qwen number ${i}` }));
    await answered('qwen', ids[0]!);
    await answered('qwen', ids[1]!);
    // Every mention has ended: the runner logged the other three refused, and which of them carries the notice.
    const refused = await waitFor('the other three refused', () => {
      const r = ids.slice(2).map((id) => log.of(id, 'qwen'));
      return r.every((x) => x !== undefined) ? r : undefined;
    });
    expect(refused.map((r) => [r!.outcome, r!.reason])).toEqual([
      ['refused', 'rate limit (notice sent)'],
      ['refused', 'rate limit (notice sent earlier)'],
      ['refused', 'rate limit (notice sent earlier)'],
    ]);
    const qwenNotices = () => team.seen.filter((e) => e.content.msgtype === 'm.notice' && e.sender === user('qwen'));
    const notices = await waitFor('the notice', () => qwenNotices().length > 0 && qwenNotices());
    expect(notices).toHaveLength(1);
    expect(replyTo(notices[0]!)).toBe(ids[2]);
    expect(bots.status().rateLimited).toBe(3);
  });
  it('while paused answers nothing, says so once, and answers again after resume', async () => {
    await bots.stop(5000);
    team.settings.guard = { ...team.settings.guard, rateLimit: { maxRequests: 100, windowSeconds: 60 } };
    let pausedSince: number | undefined;
    const log = mentionLog();
    bots = runner(team, {
      logger: log.logger,
      onReply: (bot, ev, o) => outcomes.set(`${ev}|${bot}`, o),
      pausedSince: () => pausedSince,
    });
    await bots.start(new AbortController().signal);
    pausedSince = Date.now();
    const before = team.seen.filter((e) => e.content.msgtype === 'm.notice').length;
    const first = await say(team, { msgtype: 'm.text', body: '@qwen are you there?' });
    const second = await say(team, { msgtype: 'm.text', body: '@qwen hello?' });
    await waitFor('pause notice', () => team.seen.filter((e) => e.content.msgtype === 'm.notice').length > before);
    // Both mentions have ended: the runner logged each refused while paused.
    await waitFor('both mentions refused', () =>
      [first, second].every((id) => log.of(id, 'qwen')?.outcome === 'refused'),
    );
    expect([first, second].map((id) => log.of(id, 'qwen')?.reason)).toEqual(['paused', 'paused']);
    expect(outcomes.has(`${first}|qwen`)).toBe(false);
    pausedSince = undefined;
    const after = await say(team, { msgtype: 'm.text', body: '@qwen back now' });
    await answered('qwen', after);
    // The answer after the resume came after anything the bot sent while paused: one notice, no more.
    const notices = team.seen.filter((e) => e.content.msgtype === 'm.notice').slice(before);
    expect(notices).toHaveLength(1);
    expect(String(notices[0]!.content.body)).toMatch(/paused/);
    expect(outcomes.has(`${first}|qwen`)).toBe(false);
  });
});
