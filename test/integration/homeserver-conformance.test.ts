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

interface Reply { status: number; body: Record<string, unknown> }

async function call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}): Promise<Reply> {
  const res = await fetch(`${hs.url}${path.startsWith('/_matrix') ? '' : '/_matrix/client/v3'}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.raw !== undefined ? { body: opts.raw } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
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
  roomId = ((await call('POST', '/createRoom', { token: alice.accessToken, body: { preset: 'private_chat', invite: [bob.userId] } })).body.room_id as string);
  expect((await call('POST', `/rooms/${room()}/join`, { token: bob.accessToken, body: {} })).status).toBe(200);
  aliceEvent = (await call('PUT', `/rooms/${room()}/send/m.room.message/conf1`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'hi' } })).body.event_id as string;
}, 30_000);

afterAll(async () => {
  await hs?.close();
});

/** errcode: what the spec names; a RegExp where real servers differ (Synapse answers an unknown profile with M_UNKNOWN). */
type Case = [name: string, request: () => Promise<Reply>, status: number, errcode: string | RegExp];

describe('what a homeserver refuses', () => {
  const cases: Case[] = [
    ['an unknown endpoint', () => call('GET', '/this/does/not/exist', { token: alice.accessToken }), 404, 'M_UNRECOGNIZED'],
    ['no access token', () => call('GET', '/account/whoami'), 401, 'M_MISSING_TOKEN'],
    ['an unknown access token', () => call('GET', '/account/whoami', { token: 'syt_not_a_token' }), 401, 'M_UNKNOWN_TOKEN'],
    ['a wrong password', () => call('POST', '/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: 'wrong' } }), 403, 'M_FORBIDDEN'],
    ['a taken user name', () => call('GET', `/register/available?username=${encodeURIComponent(alice.userId.slice(1).split(':')[0]!)}`), 400, 'M_USER_IN_USE'],
    ['an invalid user name', () => call('GET', '/register/available?username=Not%20Valid'), 400, 'M_INVALID_USERNAME'],
    ['a body that is not JSON', () => call('POST', '/createRoom', { token: alice.accessToken, raw: '{not json' }), 400, 'M_NOT_JSON'],
    ['a send by a non-member', async () => {
      const carol = await hs.register('carol', 'pw-carol-0123456789');
      return call('PUT', `/rooms/${room()}/send/m.room.message/x1`, { token: carol.accessToken, body: { msgtype: 'm.text', body: 'let me in' } });
    }, 403, 'M_FORBIDDEN'],
    ['a state change below the power level', () => call('PUT', `/rooms/${room()}/state/m.room.name/`, { token: bob.accessToken, body: { name: 'mine now' } }), 403, 'M_FORBIDDEN'],
    ['redacting someone else\'s message without the power', () => call('PUT', `/rooms/${room()}/redact/${encodeURIComponent(aliceEvent)}/r1`, { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN'],
    ['an event over 64 KiB', () => call('PUT', `/rooms/${room()}/send/m.room.message/big1`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'x'.repeat(70_000) } }), 413, 'M_TOO_LARGE'],
    ['an unknown event', () => call('GET', `/rooms/${room()}/event/${encodeURIComponent('$nope')}`, { token: alice.accessToken }), 404, 'M_NOT_FOUND'],
    ['a missing state event', () => call('GET', `/rooms/${room()}/state/m.room.topic/`, { token: alice.accessToken }), 404, 'M_NOT_FOUND'],
    ['joining an invite-only room uninvited', async () => {
      const dave = await hs.register('dave', 'pw-dave-0123456789');
      return call('POST', `/rooms/${room()}/join`, { token: dave.accessToken, body: {} });
    }, 403, 'M_FORBIDDEN'],
    ['power levels that are not integers', () => call('PUT', `/rooms/${room()}/state/m.room.power_levels/`, { token: alice.accessToken, body: { users: { [alice.userId]: 'a lot' } } }), 400, 'M_BAD_JSON'],
    ['/messages with a bad direction', () => call('GET', `/rooms/${room()}/messages?dir=sideways`, { token: alice.accessToken }), 400, 'M_INVALID_PARAM'],
    ['the profile of an unknown user', () => call('GET', `/profile/${encodeURIComponent(`@nobody-${Date.now()}:${hs.serverName}`)}`, { token: alice.accessToken }), 404, /^M_(NOT_FOUND|UNKNOWN)$/],
    ['a to-device message without messages', () => call('PUT', '/sendToDevice/m.test/td1', { token: alice.accessToken, body: {} }), 400, 'M_MISSING_PARAM'],
    ['a user-signing key with no master key', () => call('POST', '/keys/device_signing/upload', { token: bob.accessToken, body: { user_signing_key: { user_id: bob.userId, usage: ['user_signing'], keys: { 'ed25519:AAAA': 'AAAA' } } } }), 400, 'M_MISSING_PARAM'],
  ];

  it.each(cases)('%s', async (_name, request, status, errcode) => {
    const reply = await request();
    expect({ status: reply.status, errcode: reply.body.errcode }, JSON.stringify(reply.body)).toEqual({ status, errcode: typeof errcode === 'string' ? errcode : expect.stringMatching(errcode) });
  });

  it('refuses a wrong registration token in the user-interactive flow', async () => {
    const start = await call('POST', '/register', { body: { username: `eve${hs.suffix}`, password: 'pw-eve-0123456789' } });
    expect(start.status).toBe(401);
    expect(JSON.stringify(start.body.flows)).toContain('m.login.registration_token');
    const wrong = await call('POST', '/register', { body: { username: `eve${hs.suffix}`, password: 'pw-eve-0123456789', auth: { type: 'm.login.registration_token', token: 'not-the-token', session: start.body.session } } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.completed ?? []).not.toContain('m.login.registration_token');
  });

  it('refuses a forged cross-signing signature and accepts a real one', async () => {
    const master = edKey();
    const ssk = edKey();
    const csKey = (usage: string, pub: string) => ({ user_id: bob.userId, usage: [usage], keys: { [`ed25519:${pub}`]: pub } });
    const forged = await call('POST', '/keys/device_signing/upload', { token: bob.accessToken, body: { master_key: csKey('master', master.pub), self_signing_key: ssk.sign(csKey('self_signing', ssk.pub), bob.userId) } });
    expect([forged.status, forged.body.errcode]).toEqual([400, 'M_INVALID_SIGNATURE']);
    const ok = await call('POST', '/keys/device_signing/upload', { token: bob.accessToken, body: { master_key: csKey('master', master.pub), self_signing_key: master.sign(csKey('self_signing', ssk.pub), bob.userId) } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });

  it('takes a repeated transaction id as the same event', async () => {
    const again = await call('PUT', `/rooms/${room()}/send/m.room.message/conf1`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'hi' } });
    expect(again).toEqual({ status: 200, body: { event_id: aliceEvent } });
  });

  it('asks for user-interactive auth to delete a device, and refuses a wrong password', async () => {
    const login = await call('POST', '/login', { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: 'pw-alice-0123456789' } });
    const deviceId = login.body.device_id as string;
    const first = await call('POST', '/delete_devices', { token: alice.accessToken, body: { devices: [deviceId] } });
    expect(first.status).toBe(401);
    expect(first.body.flows).toEqual(expect.arrayContaining([{ stages: ['m.login.password'] }]));
    const identifier = { type: 'm.id.user', user: alice.userId };
    const wrong = await call('POST', '/delete_devices', { token: alice.accessToken, body: { devices: [deviceId], auth: { type: 'm.login.password', identifier, password: 'nope', session: first.body.session } } });
    expect([wrong.status, wrong.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    const ok = await call('POST', '/delete_devices', { token: alice.accessToken, body: { devices: [deviceId], auth: { type: 'm.login.password', identifier, password: 'pw-alice-0123456789', session: first.body.session } } });
    expect(ok.status).toBe(200);
    expect((await call('GET', '/account/whoami', { token: login.body.access_token as string })).body.errcode).toBe('M_UNKNOWN_TOKEN');
  });
});
