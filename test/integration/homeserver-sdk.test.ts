// Two real matrix-js-sdk 43 clients against the test homeserver: a message and its m.replace edit cross over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientEvent, RoomEvent, createClient, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';

// Parts of the SDK log through its global logger rather than the client's.
// It is a loglevel logger at runtime; its typings leave setLevel out.
(sdkLogger as unknown as { setLevel(level: string): void }).setLevel('warn');
const quiet = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild() {
    return quiet;
  },
};

describe('test homeserver with matrix-js-sdk clients', () => {
  let hs: Homeserver;
  const clients: MatrixClient[] = [];
  /** Every answer the server gave that was not 2xx, except the ones a client expects (no backup → 404). */
  const unexpected: string[] = [];

  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    // Expected 404s, as from Synapse: no key backup yet, and MSC4143 (RTC transports) is not implemented.
    if (!res.ok && !url.includes('/room_keys/version') && !url.includes('org.matrix.msc4143'))
      unexpected.push(`${init?.method ?? 'GET'} ${url} → ${res.status}`);
    return res;
  };

  async function login(username: string): Promise<MatrixClient> {
    const reg = createClient({ baseUrl: hs.url, fetchFn: recordingFetch, logger: quiet });
    const res = await reg.registerRequest({ username, password: `pw-${username}`, auth: { type: 'm.login.dummy' } });
    const client = createClient({
      baseUrl: hs.url,
      accessToken: res.access_token,
      userId: res.user_id,
      deviceId: res.device_id,
      fetchFn: recordingFetch,
      logger: quiet,
    });
    clients.push(client);
    const ready = new Promise<void>((resolve) => {
      client.on(ClientEvent.Sync, (state) => {
        if (state === 'PREPARED') resolve();
      });
    });
    await client.startClient({ initialSyncLimit: 10 });
    await ready;
    return client;
  }

  function waitForEvent(client: MatrixClient, match: (e: MatrixEvent) => boolean): Promise<MatrixEvent> {
    return new Promise((resolve) => {
      const onTimeline = (e: MatrixEvent): void => {
        if (!match(e)) return;
        client.off(RoomEvent.Timeline, onTimeline);
        resolve(e);
      };
      client.on(RoomEvent.Timeline, onTimeline);
    });
  }

  beforeAll(async () => {
    // Registration without a token: the m.login.dummy flow, as a server without registration_token offers.
    hs = await startHomeserver({ serverName: 'sdk.local' });
  });
  afterAll(async () => {
    for (const c of clients) c.stopClient();
    await hs.close();
  });

  it('delivers a message and its edit from one client to the other', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const invited = new Promise<string>((resolve) => {
      bob.on(RoomEvent.MyMembership, (room, membership) => {
        if (membership === 'invite') resolve(room.roomId);
      });
    });
    const { room_id: roomId } = await alice.createRoom({
      name: 'Team',
      preset: 'private_chat' as never,
      invite: [bob.getUserId() as string],
    });
    expect(await invited).toBe(roomId);
    await bob.joinRoom(roomId);

    const seen = waitForEvent(bob, (e) => e.getType() === 'm.room.message' && e.getContent().body === 'hello bob');
    const { event_id: originalId } = await alice.sendTextMessage(roomId, 'hello bob');
    const received = await seen;
    expect(received.getId()).toBe(originalId);
    expect(received.getSender()).toBe(alice.getUserId());
    expect(
      bob
        .getRoom(roomId)
        ?.getLiveTimeline()
        .getEvents()
        .some((e) => e.getId() === originalId),
    ).toBe(true);

    const editSeen = waitForEvent(bob, (e) => e.getRelation()?.rel_type === 'm.replace');
    await alice.sendMessage(roomId, {
      msgtype: 'm.text',
      body: '* hello bob, edited',
      'm.new_content': { msgtype: 'm.text', body: 'hello bob, edited' },
      'm.relates_to': { rel_type: 'm.replace', event_id: originalId },
    } as never);
    await editSeen;
    const original = bob.getRoom(roomId)?.findEventById(originalId);
    await expect.poll(() => original?.getContent().body).toBe('hello bob, edited');
    expect(original?.replacingEventId()).toBeDefined();
    expect(unexpected).toEqual([]);
  });
});
