// A reply's first message is sent under a transaction id fixed per mention: when the app dies after the server
// took it but before its id was saved, the retry after restart gets the same event back (the spec makes a
// transaction id idempotent per device), so the room never sees a second reply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplyStream } from '../../main/core/bots/reply-stream.ts';
import { startHomeserver } from '../support/homeserver/index.ts';

let hs: Awaited<ReturnType<typeof startHomeserver>>;
let token = '';
let roomId = '';

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${hs.url}/_matrix/client/v3${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  hs = await startHomeserver({ serverName: 'idem.local' });
  const reg = await fetch(`${hs.url}/_matrix/client/v3/register`, {
    method: 'POST',
    body: JSON.stringify({ username: 'bot', password: 'pw-123456', auth: { type: 'm.login.dummy' } }),
  });
  token = ((await reg.json()) as { access_token: string }).access_token;
  roomId = (await call('POST', '/createRoom', { name: 'r' })).room_id as string;
});
afterAll(async () => {
  await hs?.close();
});

const send = (room: string, type: string, content: Record<string, unknown>, txn?: string) =>
  call(
    'PUT',
    `/rooms/${encodeURIComponent(room)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txn ?? `t${Math.random()}`)}`,
    content,
  ).then((r) => r.event_id as string);

describe('the first message of a reply', () => {
  it('is the same event when a restarted attempt sends it again', async () => {
    const options = {
      send,
      target: { roomId, eventId: '$mention' },
      turn: { origin: '$mention', hop: 1 },
      editsPerSecond: 2,
      clock: { now: () => Date.now() },
      firstTxnId: 'reply.$mention',
    };
    const before = new ReplyStream(options);
    before.push('Hello');
    await before.close(); // the app dies here: the id of the first message was never saved
    const after = new ReplyStream(options);
    await after.finish('Hello again, complete.');
    expect(after.replyId).toBe(before.replyId);
    const messages = (
      (await call('GET', `/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=20`)).chunk as Array<{
        type: string;
        content: Record<string, unknown>;
      }>
    ).filter((e) => e.type === 'm.room.message');
    const firsts = messages.filter((e) => !(e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type);
    expect(firsts).toHaveLength(1);
  });
});
