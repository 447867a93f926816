// Bad input in the room, one table: the real bot runner with the test homeserver and real inference on the
// tiny model. For every row: the bot gives a finished answer or a clear notice, or (where nothing is
// addressed to it) stays quiet; what the person wrote is stored as sent; the runner keeps running and
// still answers the next mention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import { outcomes, type MentionOutcome, type TimelineEvent } from '../support/faults/replies.ts';
import { makeTeam, runner, say, waitFor, type Team } from '../support/bots-harness.ts';

let team: Team;
let r: BotRunner;
let alpha: string;

const written = new Map<string, Record<string, unknown>>();
/** Sends as the owner and remembers exactly what was sent. */
async function post(content: Record<string, unknown>): Promise<string> {
  const id = await say(team, content);
  written.set(id, structuredClone(content));
  return id;
}
const mention = (body: string, extra: Record<string, unknown> = {}) => ({
  msgtype: 'm.text',
  body,
  'm.mentions': { user_ids: [alpha] },
  ...extra,
});
const outcome = (id: string): MentionOutcome => outcomes(team.seen as TimelineEvent[], [id], alpha)[0]!;
const finalText = async (id: string, timeoutMs = 20_000): Promise<string> =>
  (await waitFor(`alpha's finished reply to ${id}`, () => outcome(id).replies.find((x) => x.final), timeoutMs)).text;
/** A later mention answered: the runner is alive, and (rooms are queued in order) anything the bad event caused is done. */
async function barrier(): Promise<void> {
  await finalText(await post(mention('@alpha are you still there?')));
}

interface RoomCase {
  name: string;
  /** What the person gets (the README's table says the same). */
  gets: string;
  run: () => Promise<string[]>;
}

const KB100 = `@alpha ${'all work and no play makes a long message. '.repeat(2400)}`.slice(0, 100 * 1024);

const cases: RoomCase[] = [
  // First: the limiter counts the last minute, and the rows below send many mentions.
  {
    name: 'mention flood (12 in a row, limit 3 a minute)',
    gets: '3 answered, one notice saying when to try again, the rest kept unanswered',
    run: async () => {
      const before = structuredClone(team.settings.guard.rateLimit);
      team.settings.guard.rateLimit = { maxRequests: 3, windowSeconds: 60 };
      try {
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) ids.push(await post(mention(`@alpha flood ${i}`)));
        await waitFor(
          'three answers',
          () => ids.filter((id) => outcome(id).replies.some((x) => x.final)).length === 3 || undefined,
        );
        const notices = ids.flatMap((id) => outcome(id).notices);
        expect(notices).toHaveLength(1);
        expect(notices[0]).toMatch(/again|wait|minute|second/i);
        return ids;
      } finally {
        team.settings.guard.rateLimit = before;
        r.rateLimiter.setOptions(before);
      }
    },
  },
  {
    name: 'unknown bot mentioned',
    gets: 'no reply (no bot addressed), message kept',
    run: async () => {
      const id = await post({
        msgtype: 'm.text',
        body: '@nobody hello',
        'm.mentions': { user_ids: ['@nobody:bots.local'] },
      });
      await barrier();
      expect(outcome(id).replies).toHaveLength(0);
      expect(outcomes(team.seen as TimelineEvent[], [id], team.provision.bots[1]!.userId)[0]!.replies).toHaveLength(0);
      return [id];
    },
  },
  {
    name: 'empty mention (only the name)',
    gets: 'a finished reply',
    run: async () => {
      const id = await post(mention('@alpha'));
      expect((await finalText(id)).length).toBeGreaterThan(0);
      return [id];
    },
  },
  {
    name: 'mention followed only by whitespace and newlines',
    gets: 'a finished reply',
    run: async () => {
      const id = await post(mention('@alpha   \n\n\t '));
      await finalText(id);
      return [id];
    },
  },
  {
    name: '100 KB message',
    gets: 'refused by the homeserver with M_TOO_LARGE (events are limited to 64 KiB): the sender keeps the text',
    run: async () => {
      await expect(post(mention(KB100))).rejects.toThrow(/M_TOO_LARGE|65536/);
      return [];
    },
  },
  {
    name: '60 KB message (under the event limit)',
    gets: 'a finished reply (history cut to the token budget), message stored whole',
    run: async () => {
      const id = await post(mention(KB100.slice(0, 60 * 1024)));
      await finalText(id, 30_000);
      return [id];
    },
  },
  {
    name: 'control characters (NUL, BEL, ESC sequences)',
    gets: 'a finished reply, message stored as sent',
    run: async () => {
      const id = await post(mention('@alpha hi \u0000\u0007\u001b[31mred\u001b[0m \u202e'));
      await finalText(id);
      return [id];
    },
  },
  {
    name: 'HTML injection in the message',
    gets: 'a finished reply; the message is stored, not executed',
    run: async () => {
      const id = await post(
        mention('@alpha <script>alert(1)</script>', {
          format: 'org.matrix.custom.html',
          formatted_body:
            '<a href="https://matrix.to/#/x">alpha</a> <img src=x onerror=alert(1)><script>alert(1)</script>',
        }),
      );
      await finalText(id);
      return [id];
    },
  },
  {
    name: 'HTML injection in the model output',
    gets: 'the reply rendered as sanitized HTML: script escaped, no event handlers, no javascript: links',
    run: async () => {
      team.prefixes.set(
        'alpha',
        '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a> ',
      );
      try {
        const id = await post(mention('@alpha say something'));
        await finalText(id);
        const reply = outcome(id).replies[0]!;
        const fin = team.seen
          .filter(
            (e) =>
              (e.content['m.relates_to'] as { event_id?: string } | undefined)?.event_id === reply.replyId &&
              e.content['org.agentroom.final'] === true,
          )
          .at(-1)!;
        const html = String((fin.content['m.new_content'] as Record<string, unknown>).formatted_body);
        expect(html).not.toMatch(/<script|onerror|javascript:/i);
        return [id];
      } finally {
        team.prefixes.clear();
      }
    },
  },
  {
    name: 'edit of an answered mention',
    gets: 'not answered a second time',
    run: async () => {
      const id = await post(mention('@alpha first version'));
      await finalText(id);
      const edit = await post({
        msgtype: 'm.text',
        body: '* @alpha second version',
        'm.new_content': mention('@alpha second version'),
        'm.relates_to': { rel_type: 'm.replace', event_id: id },
        'm.mentions': { user_ids: [alpha] },
      });
      await barrier();
      expect(outcome(id).replies).toHaveLength(1);
      expect(outcome(edit).replies).toHaveLength(0);
      return [id];
    },
  },
  {
    name: 'redaction of a mention before it is answered',
    gets: 'no reply, or a reply ended with "(stopped: …)"; never half-finished',
    run: async () => {
      const id = await post(mention('@alpha never mind'));
      await team.owner.redactEvent(team.provision.roomId, id);
      await barrier();
      expect(outcome(id).replies.every((x) => x.final)).toBe(true);
      return [];
    },
  },
  { name: 'event with empty content', gets: 'ignored', run: async () => [await post({})] },
  {
    name: 'body that is not a string, with a mention',
    gets: 'ignored',
    run: async () => [await post({ msgtype: 'm.text', body: 42, 'm.mentions': { user_ids: [alpha] } })],
  },
  {
    name: 'm.mentions of the wrong type',
    gets: 'answered from the plain @name, or ignored',
    run: async () => [await post({ msgtype: 'm.text', body: '@alpha hi', 'm.mentions': { user_ids: 'alpha' } })],
  },
  {
    name: 'm.relates_to that is not an object',
    gets: 'answered or ignored, no crash',
    run: async () => [
      await post({
        msgtype: 'm.text',
        body: '@alpha hi',
        'm.relates_to': 'garbage',
        'm.mentions': { user_ids: [alpha] },
      }),
    ],
  },
  {
    name: 'in_reply_to an event that does not exist',
    gets: 'a finished reply',
    run: async () => {
      const id = await post(
        mention('@alpha about that', { 'm.relates_to': { 'm.in_reply_to': { event_id: '$does-not-exist' } } }),
      );
      await finalText(id);
      return [id];
    },
  },
  {
    name: "homeserver answers 500 to the bot's sends (twice)",
    gets: 'retried with the same transaction: one finished reply',
    run: async () => {
      team.hs.local!.faults.push({
        path: /\/send\/m\.room\.message\/ar/,
        method: 'PUT',
        respond: 'error500',
        times: 2,
      });
      const id = await post(mention('@alpha through errors'));
      await finalText(id);
      expect(outcome(id).replies).toHaveLength(1);
      return [id];
    },
  },
  {
    name: "homeserver answers garbage JSON to the bot's first send",
    gets: 'one finished reply (the failed send is superseded by the final edit)',
    run: async () => {
      team.hs.local!.faults.push({ path: /\/send\/m\.room\.message\/ar/, method: 'PUT', respond: 'garbage', times: 1 });
      const id = await post(mention('@alpha through garbage'));
      await barrier();
      expect(outcome(id).replies).toHaveLength(1);
      expect(outcome(id).replies[0]!.final).toBe(true);
      return [id];
    },
  },
  {
    name: 'homeserver answers 500 and garbage to /sync',
    gets: 'the sync retries; the next mention is answered',
    run: async () => {
      team.hs.local!.faults.push(
        { path: /\/sync/, respond: 'error500', times: 2 },
        { path: /\/sync/, respond: 'garbage', times: 1 },
      );
      const id = await post(mention('@alpha after sync trouble'));
      await finalText(id, 30_000);
      return [id];
    },
  },
  {
    name: 'homeserver answers 500 to the history request (/messages)',
    gets: 'a finished reply or an error ending saying what failed',
    run: async () => {
      team.hs.local!.faults.push({ path: /\/messages/, respond: 'error500', times: 3 });
      const id = await post(mention('@alpha with no history'));
      const text = await finalText(id, 30_000);
      expect(text.length).toBeGreaterThan(0);
      return [id];
    },
  },
];

export const roomCases = cases.map((c) => ({ name: c.name, gets: c.gets }));

beforeAll(async () => {
  team = await makeTeam(
    ['alpha', 'beta'],
    { rateLimit: { maxRequests: 1000, windowSeconds: 60 }, editsPerSecond: 5 },
    24,
  );
  alpha = team.provision.bots[0]!.userId;
  r = runner(team);
  await r.start(AbortSignal.timeout(20_000));
}, 60_000);

afterAll(async () => {
  await r?.stop(2000);
  await team?.close();
});

describe('bad input in the room', () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const sent = await c.run();
      // Nothing the person wrote is lost: the homeserver holds each message as sent.
      for (const id of sent) {
        const stored = await team.owner.fetchRoomEvent(team.provision.roomId, id);
        expect(stored.content).toEqual(written.get(id));
      }
      expect(r.state.status).toBe('running');
    },
    60_000,
  );

  it('still answers an ordinary mention after the whole table', async () => {
    await barrier();
  }, 30_000);
});
