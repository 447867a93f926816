// Exactly once across a restart: the runner stopped mid-reply and started again on the same state
// answers every mention once (a reply cut by the stop is finished by editing the same message).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import {
  finalEdit,
  makeTeam,
  repliesFrom,
  runner,
  say,
  waitFor,
  waitIdle,
  type Team,
} from '../support/bots-harness.ts';

let team: Team;
let bots: BotRunner | undefined;
const replyTo = (e: { content: Record<string, unknown> }): string | undefined =>
  (
    (e.content['m.relates_to'] as Record<string, unknown> | undefined)?.['m.in_reply_to'] as
      { event_id?: string } | undefined
  )?.event_id;

beforeAll(async () => {
  team = await makeTeam(['qwen', 'coder'], {}, 1500);
}, 60_000);
afterAll(async () => {
  await bots?.stop(5000);
  await team?.close();
});

describe('bot runner restart', () => {
  it('answers every mention exactly once when restarted mid-conversation', async () => {
    bots = runner(team);
    await bots.start(new AbortController().signal);
    const ids: string[] = [];
    ids.push(await say(team, { msgtype: 'm.text', body: '@qwen @coder first' }));
    ids.push(await say(team, { msgtype: 'm.text', body: '@coder second' }));
    // Stop as soon as the first reply is on its way: its generation is cut and the rest still wait.
    await waitFor('a first reply', () =>
      team.seen.some((e) => replyTo(e) === ids[0] && e.sender !== team.provision.owner.userId),
    );
    const stopStarted = Date.now();
    await bots.stop(5000);
    expect(Date.now() - stopStarted).toBeLessThan(2000);
    ids.push(await say(team, { msgtype: 'm.text', body: '@qwen third, while the bots are down' }));

    bots = runner(team);
    await bots.start(new AbortController().signal);
    ids.push(await say(team, { msgtype: 'm.text', body: '@qwen fourth, after the restart' }));
    const expected: Array<[string, string]> = [
      [ids[0]!, 'qwen'],
      [ids[0]!, 'coder'],
      [ids[1]!, 'coder'],
      [ids[2]!, 'qwen'],
      [ids[3]!, 'qwen'],
    ];
    const userOf = (id: string) => team.provision.bots.find((b) => b.id === id)!.userId;
    for (const [mention, bot] of expected) {
      const reply = await waitFor(
        `${bot} → ${mention}`,
        () => repliesFrom(team, userOf(bot)).find((e) => replyTo(e) === mention),
        40_000,
      );
      await waitFor(`${bot}'s final edit`, () => finalEdit(team, reply.event_id), 40_000);
    }
    // Nothing more comes: the runner has no reply left to send, and a later mention to both bots is answered (each
    // bot's replies are queued in order and the owner's timeline is ordered, so any second answer came before it).
    await waitIdle(bots!);
    const marker = await say(team, { msgtype: 'm.text', body: '@qwen @coder that is all' });
    for (const bot of ['qwen', 'coder']) {
      const reply = await waitFor(
        `${bot} → the last mention`,
        () => repliesFrom(team, userOf(bot)).find((e) => replyTo(e) === marker),
        40_000,
      );
      await waitFor(`${bot}'s final edit`, () => finalEdit(team, reply.event_id), 40_000);
    }
    for (const [mention, bot] of expected)
      expect(repliesFrom(team, userOf(bot)).filter((e) => replyTo(e) === mention)).toHaveLength(1);
    // Nothing else was answered: one reply message per (mention, bot), no more.
    expect(
      team.provision.bots.flatMap((b) => repliesFrom(team, b.userId)).filter((e) => replyTo(e) !== marker),
    ).toHaveLength(expected.length);
  }, 120_000);
});
