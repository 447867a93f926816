// Exactly once under load: bursts of mentions that outrun the bots' syncs (so the homeserver cuts the timeline
// and only /messages holds the rest), mentions sent while the bots were stopped, and a restart in the middle of
// a burst. Runs against the test homeserver in `npm test` and against Synapse in `npm run test:external`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { ReplyOutcome } from '../../main/core/bots/reply-job.ts';
import type { Clock, RawEvent } from '../../main/core/bots/types.ts';
import { makeTeam, runner, waitFor, waitIdle, type Team } from '../support/bots-harness.ts';

const BOTS = ['ada', 'bo', 'cy', 'dee'];
let team: Team;
let friend: { userId: string; accessToken: string };
let bots: BotRunner | undefined;
const outcomes = new Map<string, ReplyOutcome>();

/** How long every /sync waits before it goes out (ms): an injected delay, not a wait for a result. */
const SYNC_DELAY_MS = 300;
/** Every /sync waits a little before it goes out, as on a busy machine: bursts pile up between two syncs. */
const slowSync: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (/\/sync\?/.test(url)) await new Promise((resume) => setTimeout(resume, SYNC_DELAY_MS));
  return fetch(input, init);
};

async function start(clock?: Clock): Promise<BotRunner> {
  const r = runner(team, {
    fetchFn: slowSync,
    onReply: (bot, ev, o) => outcomes.set(`${ev}|${bot}`, o),
    ...(clock ? { clock } : {}),
  });
  await r.start(new AbortController().signal);
  bots = r;
  return r;
}

async function send(who: { accessToken: string }, body: string): Promise<string> {
  const txn = `burst.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
  const res = await fetch(
    `${team.hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(team.provision.roomId)}/send/m.room.message/${txn}`,
    {
      method: 'PUT',
      headers: { authorization: `Bearer ${who.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ msgtype: 'm.text', body }),
    },
  );
  const json = (await res.json()) as { event_id?: string };
  if (!json.event_id) throw new Error(`send failed: ${res.status} ${JSON.stringify(json)}`);
  return json.event_id;
}

const userOf = (bot: string): string => team.provision.bots.find((b) => b.id === bot)!.userId;
const replyTo = (e: { content: Record<string, unknown> }): string | undefined =>
  (
    (e.content['m.relates_to'] as Record<string, unknown> | undefined)?.['m.in_reply_to'] as
      { event_id?: string } | undefined
  )?.event_id;

/** The whole room as the server has it, oldest first (the owner's own sync may skip events in a burst too). */
async function roomEvents(): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  let from: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ dir: 'b', limit: '500', ...(from ? { from } : {}) });
    const res = await fetch(
      `${team.hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(team.provision.roomId)}/messages?${q}`,
      { headers: { authorization: `Bearer ${team.owner.getAccessToken()!}` } },
    );
    const page = (await res.json()) as { chunk: RawEvent[]; end?: string };
    out.push(...page.chunk);
    if (!page.end || page.chunk.length === 0) return out.reverse();
    from = page.end;
  }
}

const isEdit = (e: RawEvent): boolean =>
  (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace';

/** Each mention answered by its bot exactly once: one reply message, finished (marked final), never two. */
async function expectAnsweredOnce(asked: Array<{ id: string; bot: string }>, timeoutMs: number): Promise<void> {
  await waitFor(
    `${asked.length} answers`,
    () => asked.every((a) => outcomes.get(`${a.id}|${a.bot}`)?.kind === 'done'),
    timeoutMs,
  );
  const events = await roomEvents();
  for (const a of asked) {
    const replies = events.filter(
      (e) => e.sender === userOf(a.bot) && e.type === 'm.room.message' && !isEdit(e) && replyTo(e) === a.id,
    );
    expect(replies, `${a.bot}'s replies to ${a.id}`).toHaveLength(1);
    const r = replies[0]!;
    const finished =
      r.content['org.agentroom.final'] === true ||
      events.some(
        (e) =>
          isEdit(e) &&
          e.content['org.agentroom.final'] === true &&
          (e.content['m.relates_to'] as { event_id?: string }).event_id === r.event_id,
      );
    expect(finished, `${a.bot}'s reply to ${a.id} is finished`).toBe(true);
  }
}

const noticesFrom = async (bot: string): Promise<RawEvent[]> =>
  (await roomEvents()).filter((e) => e.content.msgtype === 'm.notice' && e.sender === userOf(bot));

beforeAll(async () => {
  team = await makeTeam(BOTS, { rateLimit: { maxRequests: 1000, windowSeconds: 60 } }, 16);
  friend = await team.hs.register('friend', 'pw-friend-0123456789');
  await team.owner.invite(team.provision.roomId, friend.userId);
  await fetch(`${team.hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(team.provision.roomId)}/join`, {
    method: 'POST',
    headers: { authorization: `Bearer ${friend.accessToken}`, 'content-type': 'application/json' },
    body: '{}',
  });
  team.settings.guard = { ...team.settings.guard, allowedUsers: [friend.userId] };
  team.pace.chunkDelayMs = 3;
  await start();
}, 120_000);

afterAll(async () => {
  await bots?.stop(5000);
  await team?.close();
});

describe('mentions under load, exactly once', () => {
  it('answers 32 mentions sent at once by one person to 4 bots, filling the gaps the server leaves', async () => {
    const before = bots!.status().gaps.filled;
    const owner = { accessToken: team.owner.getAccessToken()! };
    const asked = await Promise.all(
      Array.from({ length: 32 }, (_, i) => BOTS[i % 4]!).map(async (bot, i) => ({
        bot,
        id: await send(owner, `@${bot} burst one #${i}`),
      })),
    );
    await expectAnsweredOnce(asked, 120_000);
    expect(bots!.status().gaps.filled).toBeGreaterThan(before);
    expect(bots!.status().gaps.failed).toBe(0);
  }, 180_000);

  it('answers 32 mentions sent at once by two people to 4 bots', async () => {
    const owner = { accessToken: team.owner.getAccessToken()! };
    const asked = await Promise.all(
      Array.from({ length: 32 }, (_, i) => ({ bot: BOTS[i % 4]!, who: i % 2 === 0 ? owner : friend })).map(
        async ({ bot, who }, i) => ({ bot, id: await send(who, `@${bot} burst two #${i}`) }),
      ),
    );
    await expectAnsweredOnce(asked, 120_000);
    for (const bot of BOTS) expect((await noticesFrom(bot)).map((n) => n.content.body)).toEqual([]);
  }, 180_000);

  it('after downtime answers every mention since the last sync, and a bot that never read the room says once what it skipped', async () => {
    await bots!.stop(5000);
    // cy was added while the app was stopped: it has never read the room (no saved sync token).
    rmSync(join(team.stateDir, 'bots', 'cy.json'), { force: true });
    const owner = { accessToken: team.owner.getAccessToken()! };
    const old = [];
    for (let i = 0; i < 10; i++) old.push(await send(owner, `@cy an old question #${i}`));
    const oldEnd = Date.now();
    await waitFor('the old messages to age past the window', () => Date.now() > oldEnd + 2000 || undefined, 5000);
    const newStart = Date.now();
    const fresh: Array<{ id: string; bot: string }> = [];
    for (let i = 0; i < 40; i++) {
      const bot = ['ada', 'bo', 'cy', 'ada', 'bo'][i % 5]!;
      fresh.push({ bot, id: await send(owner, `@${bot} while you were away #${i}`) });
    }
    // A 1 s history window, judged by a clock held at the first fresh message: the old ones are past it.
    team.settings.guard = { ...team.settings.guard, ignoreHistoryOlderThanSeconds: 1 };
    const held = newStart + 500;
    const noticesBefore = (await noticesFrom('cy')).length;
    await start({ now: () => held });
    await expectAnsweredOnce(fresh, 180_000);
    // cy's state is gone, so the earlier bursts' mentions of cy are history to it too: all are passed over, none answered.
    const refused = await waitFor(
      'the old mentions passed over',
      () => {
        const r = bots!.status().bots.find((b) => b.id === 'cy')!.refused;
        return r >= 10 ? r : undefined;
      },
      30_000,
    );
    let notices: RawEvent[] = [];
    for (const end = Date.now() + 30_000; notices.length <= noticesBefore && Date.now() < end;)
      notices = await noticesFrom('cy');
    // Told once; the count is what had arrived when the notice went out (more history may follow on a slow server).
    const told = notices.slice(noticesBefore).map((n) => String(n.content.body));
    expect(told).toEqual([expect.stringMatching(/did not answer \d+ earlier messages to me/)]);
    expect(Number(/did not answer (\d+)/.exec(told[0]!)![1])).toBeGreaterThanOrEqual(10);
    expect(Number(/did not answer (\d+)/.exec(told[0]!)![1])).toBeLessThanOrEqual(
      Math.max(refused, bots!.status().bots.find((b) => b.id === 'cy')!.refused),
    );
    for (const id of old) expect(outcomes.has(`${id}|cy`)).toBe(false);
    await bots!.stop(5000);
    team.settings.guard = { ...team.settings.guard, ignoreHistoryOlderThanSeconds: 300 };
    await start();
  }, 240_000);

  it('a restart in the middle of a burst answers the rest once, finishing the replies it had begun', async () => {
    const owner = { accessToken: team.owner.getAccessToken()! };
    team.pace.chunkDelayMs = 20;
    const asked = await Promise.all(
      Array.from({ length: 20 }, (_, i) => BOTS[i % 4]!).map(async (bot, i) => ({
        bot,
        id: await send(owner, `@${bot} restart burst #${i}`),
      })),
    );
    await waitFor(
      'a few answers before the restart',
      () => asked.filter((a) => outcomes.get(`${a.id}|${a.bot}`)?.kind === 'done').length >= 3,
      60_000,
    );
    await bots!.stop(5000);
    team.pace.chunkDelayMs = 3;
    await start();
    await expectAnsweredOnce(asked, 180_000);
  }, 240_000);

  it('beyond the queue limit refuses with one notice to the sender, and every mention ends answered or refused', async () => {
    // The limit counts every reply waiting or running in the room: start from an empty queue (the test before may
    // still be finishing its last reply on a slow homeserver).
    await waitIdle(bots!, 60_000);
    team.settings.guard = { ...team.settings.guard, maxQueuedPerRoom: 3 };
    team.pace.chunkDelayMs = 30;
    const owner = { accessToken: team.owner.getAccessToken()! };
    const refusedBefore = bots!.status().bots.find((b) => b.id === 'dee')!.refused;
    const noticesBefore = (await noticesFrom('dee')).length;
    const asked = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => ({ bot: 'dee', id: await send(owner, `@dee flood #${i}`) })),
    );
    const settled = () => {
      const refused = bots!.status().bots.find((b) => b.id === 'dee')!.refused - refusedBefore;
      const answered = asked.filter((a) => outcomes.get(`${a.id}|dee`)?.kind === 'done').length;
      return answered + refused === asked.length ? { answered, refused } : undefined;
    };
    const { answered, refused } = await waitFor('every flood mention to end', settled, 120_000);
    team.settings.guard = { ...team.settings.guard, maxQueuedPerRoom: 200 };
    team.pace.chunkDelayMs = 3;
    expect(refused).toBeGreaterThan(0);
    expect(answered).toBeGreaterThanOrEqual(3);
    let notices: RawEvent[] = [];
    for (const end = Date.now() + 30_000; notices.length <= noticesBefore && Date.now() < end;)
      notices = await noticesFrom('dee');
    const told = notices.slice(noticesBefore);
    expect(told).toHaveLength(1);
    expect(String(told[0]!.content.body)).toMatch(/already waiting in this room/);
    expect(told[0]!.content['m.mentions']).toEqual({ user_ids: [team.provision.owner.userId] });
  }, 180_000);
});
