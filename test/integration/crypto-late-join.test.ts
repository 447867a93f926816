// A bot added later to an encrypted team room reads what was said before it joined: the bot already in the room
// invites it with the room's history keys (MSC4268 through matrix-js-sdk), the newcomer's join imports them, and
// its answer to a mention is built from that earlier, encrypted context.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { inviteLateBots } from '../../main/core/bots/bot-crypto-wiring.ts';
import type { BotRunner } from '../../main/core/bots/bot-runner.ts';
import type { BotAccount } from '../../main/core/bots/types.ts';
import { createTeamRoomRequest } from '../../main/core/provisioning/room.ts';
import { quiet, waitFor } from '../support/bots-harness.ts';
import { startCryptoTeam, type CryptoTeam, type SeenEvent } from '../support/crypto-team.ts';

let team: CryptoTeam;
let hs: CryptoTeam['hs'];
let owner: MatrixClient;
let runner: BotRunner | undefined;
let roomId = '';
let seen: SeenEvent[];
/** What each bot asked the model: the context its reply was built from. */
let prompts: CryptoTeam['prompts'];

/** Like waitFor, for probes that ask the server or the crypto store. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const addBot = (id: string): Promise<BotAccount> => team.addBot(id, 40);

async function startRunner(bots: BotAccount[]): Promise<void> {
  runner = await team.startRunner(roomId, bots, { promptTokens: 600 });
}

beforeAll(async () => {
  team = await startCryptoTeam({ serverName: 'late.local', dirPrefix: 'crypto-late-' });
  ({ hs, owner, seen, prompts } = team);
}, 60_000);

afterAll(async () => {
  await team?.close();
});

describe('a bot added later to an encrypted team room', () => {
  it('is invited by a bot with the history keys, reads the earlier messages and answers from them', async () => {
    const alpha = await addBot('alpha');
    // The team room as provisioning makes it: encrypted, shared history, and bots allowed to invite.
    roomId = (
      await owner.createRoom(
        createTeamRoomRequest({ name: 'AI Team', topic: 't' }, owner.getUserId()!, [alpha.userId], { encrypted: true }),
      )
    ).room_id;
    await createClient({ baseUrl: hs.url, ...alpha, logger: quiet }).joinRoom(roomId);
    await startRunner([alpha]);
    await team.ownerKnowsDevices([alpha]);

    const secret = (
      await owner.sendEvent(
        roomId,
        'm.room.message' as never,
        { msgtype: 'm.text', body: 'For later: the code word is PINEAPPLE-42.' } as never,
      )
    ).event_id;
    const alphaConn = runner!.workers[0]!.conn;
    await until(
      'alpha to read the earlier message',
      async () => (await alphaConn.fetchEvent(roomId, secret))?.content.body,
      30_000,
    );

    // Later the person adds beta: the runner restarts with both bots, and alpha invites beta.
    const beta = await addBot('beta');
    await runner!.stop(5000);
    await startRunner([alpha, beta]);
    const [alphaW, betaW] = runner!.workers;
    const outcome = await inviteLateBots([alphaW!.conn, betaW!.conn], roomId, [beta.userId], quiet as never);
    expect(outcome.get(beta.userId)).toBe('shared');
    await waitFor('beta to join on the invite', () => betaW!.conn.isJoined(roomId) || undefined, 30_000);
    // Beta's new device never received the room key for that message: it can read it only from the bundle.
    const read = await until(
      'beta to read the message from before it joined',
      async () => (await betaW!.conn.fetchEvent(roomId, secret))?.content.body,
      40_000,
    );
    expect(read).toBe('For later: the code word is PINEAPPLE-42.');

    await team.ownerKnowsDevices([beta]);
    const mention = (
      await owner.sendEvent(
        roomId,
        'm.room.message' as never,
        {
          msgtype: 'm.text',
          body: 'Beta: what was the code word?',
          'm.mentions': { user_ids: [beta.userId] },
        } as never,
      )
    ).event_id;
    const reply = await waitFor(
      'beta to answer',
      () =>
        seen.find(
          (e) =>
            e.sender === beta.userId &&
            (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id?: string } } | undefined)?.['m.in_reply_to']
              ?.event_id === mention,
        ),
      25_000,
    );
    expect(reply.failed).toBe(false);
    const prompt = prompts.find((p) => p.bot === 'beta' && p.text.includes('what was the code word'));
    expect(prompt?.text).toContain('PINEAPPLE-42');
    // The earlier messages were readable on arrival: beta never said it could not read one.
    expect(seen.filter((e) => e.sender === beta.userId && e.content.msgtype === 'm.notice')).toEqual([]);
  }, 180_000);
});
