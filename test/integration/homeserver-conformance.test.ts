// What a homeserver must refuse, and how (status and errcode from the client-server spec): the same table runs
// against the test homeserver here and against a real Synapse in `npm run test:external`, so the test homeserver
// cannot drift into accepting what a real server rejects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edKey } from '../support/ed25519.ts';
import { startMatrixTarget, type MatrixTarget } from '../support/matrix-target.ts';

const TOKEN = 'conformance-token';
let hs: MatrixTarget;
let alice: { userId: string; accessToken: string };
let bob: { userId: string; accessToken: string };
let roomId: string;
let aliceEvent: string;

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string } = {},
): Promise<Reply> {
  const res = await fetch(`${hs.url}${path.startsWith('/_matrix') ? '' : '/_matrix/client/v3'}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.raw !== undefined
      ? { body: opts.raw }
      : opts.body !== undefined
        ? { body: JSON.stringify(opts.body) }
        : {}),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

const room = () => encodeURIComponent(roomId);

beforeAll(async () => {
  hs = await startMatrixTarget({ serverName: 'conformance.local', registrationToken: TOKEN });
  alice = await hs.register('alice', 'pw-alice-0123456789');
  bob = await hs.register('bob', 'pw-bob-0123456789');
  roomId = (
    await call('POST', '/createRoom', {
      token: alice.accessToken,
      body: { preset: 'private_chat', invite: [bob.userId] },
    })
  ).body.room_id as string;
  expect((await call('POST', `/rooms/${room()}/join`, { token: bob.accessToken, body: {} })).status).toBe(200);
  aliceEvent = (
    await call('PUT', `/rooms/${room()}/send/m.room.message/conf1`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body: 'hi' },
    })
  ).body.event_id as string;
}, 30_000);

afterAll(async () => {
  await hs?.close();
});

/** errcode: what the spec names; a RegExp where real servers differ (Synapse answers an unknown profile with M_UNKNOWN). */
type Case = [name: string, request: () => Promise<Reply>, status: number, errcode: string | RegExp];

describe('what a homeserver refuses', () => {
  const cases: Case[] = [
    [
      'an unknown endpoint',
      () => call('GET', '/this/does/not/exist', { token: alice.accessToken }),
      404,
      'M_UNRECOGNIZED',
    ],
    ['no access token', () => call('GET', '/account/whoami'), 401, 'M_MISSING_TOKEN'],
    [
      'an unknown access token',
      () => call('GET', '/account/whoami', { token: 'syt_not_a_token' }),
      401,
      'M_UNKNOWN_TOKEN',
    ],
    [
      'a wrong password',
      () =>
        call('POST', '/login', {
          body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: 'wrong' },
        }),
      403,
      'M_FORBIDDEN',
    ],
    [
      'a taken user name',
      () => call('GET', `/register/available?username=${encodeURIComponent(alice.userId.slice(1).split(':')[0]!)}`),
      400,
      'M_USER_IN_USE',
    ],
    ['an invalid user name', () => call('GET', '/register/available?username=Not%20Valid'), 400, 'M_INVALID_USERNAME'],
    [
      'a body that is not JSON',
      () => call('POST', '/createRoom', { token: alice.accessToken, raw: '{not json' }),
      400,
      'M_NOT_JSON',
    ],
    [
      'a send by a non-member',
      async () => {
        const carol = await hs.register('carol', 'pw-carol-0123456789');
        return call('PUT', `/rooms/${room()}/send/m.room.message/x1`, {
          token: carol.accessToken,
          body: { msgtype: 'm.text', body: 'let me in' },
        });
      },
      403,
      'M_FORBIDDEN',
    ],
    [
      'a state change below the power level',
      () => call('PUT', `/rooms/${room()}/state/m.room.name/`, { token: bob.accessToken, body: { name: 'mine now' } }),
      403,
      'M_FORBIDDEN',
    ],
    [
      "redacting someone else's message without the power",
      () =>
        call('PUT', `/rooms/${room()}/redact/${encodeURIComponent(aliceEvent)}/r1`, {
          token: bob.accessToken,
          body: {},
        }),
      403,
      'M_FORBIDDEN',
    ],
    [
      'an event over 64 KiB',
      () =>
        call('PUT', `/rooms/${room()}/send/m.room.message/big1`, {
          token: alice.accessToken,
          body: { msgtype: 'm.text', body: 'x'.repeat(70_000) },
        }),
      413,
      'M_TOO_LARGE',
    ],
    [
      'an unknown event',
      () => call('GET', `/rooms/${room()}/event/${encodeURIComponent('$nope')}`, { token: alice.accessToken }),
      404,
      'M_NOT_FOUND',
    ],
    [
      'a missing state event',
      () => call('GET', `/rooms/${room()}/state/m.room.topic/`, { token: alice.accessToken }),
      404,
      'M_NOT_FOUND',
    ],
    [
      'joining an invite-only room uninvited',
      async () => {
        const dave = await hs.register('dave', 'pw-dave-0123456789');
        return call('POST', `/rooms/${room()}/join`, { token: dave.accessToken, body: {} });
      },
      403,
      'M_FORBIDDEN',
    ],
    [
      'power levels that are not integers',
      () =>
        call('PUT', `/rooms/${room()}/state/m.room.power_levels/`, {
          token: alice.accessToken,
          body: { users: { [alice.userId]: 'a lot' } },
        }),
      400,
      'M_BAD_JSON',
    ],
    [
      '/messages with a bad direction',
      () => call('GET', `/rooms/${room()}/messages?dir=sideways`, { token: alice.accessToken }),
      400,
      'M_INVALID_PARAM',
    ],
    [
      'the profile of an unknown user',
      () =>
        call('GET', `/profile/${encodeURIComponent(`@nobody-${Date.now()}:${hs.serverName}`)}`, {
          token: alice.accessToken,
        }),
      404,
      /^M_(NOT_FOUND|UNKNOWN)$/,
    ],
    [
      'a to-device message without messages',
      () => call('PUT', '/sendToDevice/m.test/td1', { token: alice.accessToken, body: {} }),
      400,
      'M_MISSING_PARAM',
    ],
    [
      'a user-signing key with no master key',
      () =>
        call('POST', '/keys/device_signing/upload', {
          token: bob.accessToken,
          body: {
            user_signing_key: { user_id: bob.userId, usage: ['user_signing'], keys: { 'ed25519:AAAA': 'AAAA' } },
          },
        }),
      400,
      'M_MISSING_PARAM',
    ],
  ];

  it.each(cases)('%s', async (_name, request, status, errcode) => {
    const reply = await request();
    expect({ status: reply.status, errcode: reply.body.errcode }, JSON.stringify(reply.body)).toEqual({
      status,
      errcode: typeof errcode === 'string' ? errcode : expect.stringMatching(errcode),
    });
  });

  it('refuses a wrong registration token in the user-interactive flow', async () => {
    const start = await call('POST', '/register', {
      body: { username: `eve${hs.suffix}`, password: 'pw-eve-0123456789' },
    });
    expect(start.status).toBe(401);
    expect(JSON.stringify(start.body.flows)).toContain('m.login.registration_token');
    const wrong = await call('POST', '/register', {
      body: {
        username: `eve${hs.suffix}`,
        password: 'pw-eve-0123456789',
        auth: { type: 'm.login.registration_token', token: 'not-the-token', session: start.body.session },
      },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.completed ?? []).not.toContain('m.login.registration_token');
  });

  it('refuses a forged cross-signing signature and accepts a real one', async () => {
    const master = edKey();
    const ssk = edKey();
    const csKey = (usage: string, pub: string) => ({
      user_id: bob.userId,
      usage: [usage],
      keys: { [`ed25519:${pub}`]: pub },
    });
    const forged = await call('POST', '/keys/device_signing/upload', {
      token: bob.accessToken,
      body: {
        master_key: csKey('master', master.pub),
        self_signing_key: ssk.sign(csKey('self_signing', ssk.pub), bob.userId),
      },
    });
    expect([forged.status, forged.body.errcode]).toEqual([400, 'M_INVALID_SIGNATURE']);
    const ok = await call('POST', '/keys/device_signing/upload', {
      token: bob.accessToken,
      body: {
        master_key: csKey('master', master.pub),
        self_signing_key: master.sign(csKey('self_signing', ssk.pub), bob.userId),
      },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('takes a repeated transaction id as the same event', async () => {
    const again = await call('PUT', `/rooms/${room()}/send/m.room.message/conf1`, {
      token: alice.accessToken,
      body: { msgtype: 'm.text', body: 'hi' },
    });
    expect(again).toEqual({ status: 200, body: { event_id: aliceEvent } });
  });

  it('asks for user-interactive auth to delete a device, and refuses a wrong password', async () => {
    const login = await call('POST', '/login', {
      body: {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: alice.userId },
        password: 'pw-alice-0123456789',
      },
    });
    const deviceId = login.body.device_id as string;
    const first = await call('POST', '/delete_devices', { token: alice.accessToken, body: { devices: [deviceId] } });
    expect(first.status).toBe(401);
    expect(first.body.flows).toEqual(expect.arrayContaining([{ stages: ['m.login.password'] }]));
    const identifier = { type: 'm.id.user', user: alice.userId };
    const wrong = await call('POST', '/delete_devices', {
      token: alice.accessToken,
      body: {
        devices: [deviceId],
        auth: { type: 'm.login.password', identifier, password: 'nope', session: first.body.session },
      },
    });
    expect([wrong.status, wrong.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    const ok = await call('POST', '/delete_devices', {
      token: alice.accessToken,
      body: {
        devices: [deviceId],
        auth: { type: 'm.login.password', identifier, password: 'pw-alice-0123456789', session: first.body.session },
      },
    });
    expect(ok.status).toBe(200);
    expect((await call('GET', '/account/whoami', { token: login.body.access_token as string })).body.errcode).toBe(
      'M_UNKNOWN_TOKEN',
    );
  });
});

/** What a bot's sync relies on: gaps a real server leaves in a busy room, and how to fill them. */
describe('what /sync gives when a room is busy', () => {
  let gapRoom: string;
  let carol: { userId: string; accessToken: string };
  const gr = () => encodeURIComponent(gapRoom);
  type SyncRoom = {
    timeline: {
      events: Array<{ event_id: string; type: string; content: Record<string, unknown>; sender: string }>;
      limited?: boolean;
      prev_batch?: string;
    };
    state: { events: Array<{ type: string; state_key?: string }> };
    unread_notifications?: { notification_count?: number; highlight_count?: number };
  };
  const sync = async (
    token: string,
    query: Record<string, string>,
  ): Promise<{ next: string; room: SyncRoom | undefined }> => {
    const r = await call('GET', `/sync?${new URLSearchParams({ timeout: '0', ...query })}`, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return {
      next: r.body.next_batch as string,
      room: (r.body.rooms as { join?: Record<string, SyncRoom> } | undefined)?.join?.[gapRoom],
    };
  };
  // Synapse answers a repeated initial sync (same user, device, filter) from a cache: each filter is made unique.
  let nonce = 0;
  const onlyRoom = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ room: { rooms: [gapRoom], ...extra }, account_data: { not_types: [`nonce.${++nonce}`] } });
  const send = async (who: { accessToken: string }, body: string, txn: string, extra: Record<string, unknown> = {}) =>
    (
      await call('PUT', `/rooms/${gr()}/send/m.room.message/${txn}`, {
        token: who.accessToken,
        body: { msgtype: 'm.text', body, ...extra },
      })
    ).body.event_id as string;

  beforeAll(async () => {
    carol = await hs.register('carol2', 'pw-carol2-0123456789');
    // Named, so that a lazy-loading server needs no member events of the room's "heroes" to name it.
    gapRoom = (
      await call('POST', '/createRoom', {
        token: alice.accessToken,
        body: { preset: 'private_chat', name: 'Busy', invite: [bob.userId, carol.userId] },
      })
    ).body.room_id as string;
    for (const who of [bob, carol])
      expect((await call('POST', `/rooms/${gr()}/join`, { token: who.accessToken, body: {} })).status).toBe(200);
  }, 30_000);

  it('cuts an incremental sync at 10 events with limited and prev_batch; /messages from prev_batch to the since token returns exactly the rest', async () => {
    const { next: since } = await sync(alice.accessToken, { filter: onlyRoom() });
    const sent: string[] = [];
    for (let i = 0; i < 15; i++) sent.push(await send(bob, `burst ${i}`, `gap${i}`));
    const { room } = await sync(alice.accessToken, { since, filter: onlyRoom() });
    const tl = room!.timeline;
    expect(tl.limited).toBe(true);
    expect(tl.events.length).toBeLessThanOrEqual(10);
    expect(typeof tl.prev_batch).toBe('string');
    const page = await call(
      'GET',
      `/rooms/${gr()}/messages?${new URLSearchParams({ from: tl.prev_batch!, to: since, dir: 'b', limit: '100' })}`,
      { token: alice.accessToken },
    );
    expect(page.status).toBe(200);
    const missing = (page.body.chunk as Array<{ event_id: string }>).map((e) => e.event_id).reverse();
    expect([...missing, ...tl.events.map((e) => e.event_id)]).toEqual(sent);
  });

  it("keeps to a filter's timeline limit: a larger one returns the whole burst, a smaller one cuts it", async () => {
    const { next: since } = await sync(alice.accessToken, { filter: onlyRoom() });
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) sent.push(await send(bob, `more ${i}`, `lim${i}`));
    const wide = await sync(alice.accessToken, { since, filter: onlyRoom({ timeline: { limit: 50 } }) });
    expect(wide.room!.timeline.limited ?? false).toBe(false);
    expect(wide.room!.timeline.events.map((e) => e.event_id)).toEqual(sent);
    const narrow = await sync(alice.accessToken, { since, filter: onlyRoom({ timeline: { limit: 3 } }) });
    expect(narrow.room!.timeline.limited).toBe(true);
    expect(narrow.room!.timeline.events.map((e) => e.event_id)).toEqual(sent.slice(-3));
  });

  it('lazy-loads members: an initial sync carries the member events of who speaks in the timeline, not of everyone', async () => {
    await send(bob, 'only bob speaks now', 'lazy1');
    const { room } = await sync(alice.accessToken, {
      filter: onlyRoom({ timeline: { limit: 1 }, state: { lazy_load_members: true } }),
    });
    const members = room!.state.events.filter((e) => e.type === 'm.room.member').map((e) => e.state_key);
    expect(room!.timeline.events.map((e) => e.sender)).toEqual([bob.userId]);
    expect(members).toContain(bob.userId);
    expect(members).not.toContain(carol.userId);
    const full = await sync(alice.accessToken, { filter: onlyRoom({ timeline: { limit: 1 } }) });
    expect(full.room!.state.events.filter((e) => e.type === 'm.room.member').map((e) => e.state_key)).toContain(
      carol.userId,
    );
  });

  it('notifies for an edit that newly mentions the user, and not for other edits', async () => {
    const counts = async () =>
      (await sync(alice.accessToken, { filter: onlyRoom({ timeline: { limit: 1 } }) })).room!.unread_notifications ??
      {};
    const last = await send(carol, 'reset point', 'unread0');
    expect(
      (
        await call('POST', `/rooms/${gr()}/receipt/m.read/${encodeURIComponent(last)}`, {
          token: alice.accessToken,
          body: {},
        })
      ).status,
    ).toBe(200);
    const id = await send(bob, 'an answer in progress', 'unread1', { 'm.mentions': {} });
    await send(bob, '* still going', 'unread2', {
      'm.new_content': { msgtype: 'm.text', body: 'still going', 'm.mentions': {} },
      'm.relates_to': { rel_type: 'm.replace', event_id: id },
      'm.mentions': {},
    });
    expect(await counts()).toMatchObject({ notification_count: 1, highlight_count: 0 });
    const mention = { user_ids: [alice.userId] };
    await send(bob, '* done', 'unread3', {
      'm.new_content': { msgtype: 'm.text', body: 'done', 'm.mentions': mention },
      'm.relates_to': { rel_type: 'm.replace', event_id: id },
      'm.mentions': mention,
    });
    expect(await counts()).toMatchObject({ notification_count: 2, highlight_count: 1 });
  });
});
