// The test homeserver's encryption endpoints against the client-server spec's examples: keys upload/query/claim,
// cross-signing with user-interactive auth, signatures, to-device delivery, device lists and room key backup.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';
import { betterKey } from '../support/homeserver/encryption-backup.ts';
import { edKey } from '../support/ed25519.ts';

interface Session {
  userId: string;
  deviceId: string;
  token: string;
}
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// From the spec's POST /keys/upload example.
const deviceKeys = (s: Session): Body => ({
  algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
  device_id: s.deviceId,
  keys: {
    [`curve25519:${s.deviceId}`]: '3C5BFWi2Y8MaVvjM8M22DBmh24PmgR0nPvJOIArzgyI',
    [`ed25519:${s.deviceId}`]: 'lEuiRJBit0IG6nUf5pUzWTUEsRVVe/HJkoKuEww9ULI',
  },
  signatures: {
    [s.userId]: {
      [`ed25519:${s.deviceId}`]:
        'dSO80A01XiigH3uBiDVx/EjzaoycHcjq9lfQX0uWsqxl2giMIiSPR8a4d291W1ihKJL/a+myXS367WT6NAIcBA',
    },
  },
  user_id: s.userId,
});
const otk = (key: string): Body => ({
  key,
  signatures: {
    '@alice:example.com': {
      'ed25519:JLAFKJWSCS': 'IQeCEPb9HFk217cU9kw9EOiusC6kMIkoIRnbnfOh5Oc63S1ghgyjShBGpu34blQomoalCyXWyhaaT3MrLZYQAA',
    },
  },
});
const csKey = (userId: string, usage: string, pub: string): Body => ({
  user_id: userId,
  usage: [usage],
  keys: { [`ed25519:${pub}`]: pub },
});
// Real ed25519 keys: the server checks signatures, as Synapse does.
const master1 = edKey();
const master2 = edKey();
const selfSigning = edKey();
const userSigning = edKey();

describe('test homeserver: end-to-end encryption endpoints', () => {
  let hs: Homeserver;
  let dir: string;
  let alice: Session;
  let alice2: Session;
  let bob: Session;

  const call = async (
    s: Session | undefined,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Body }> => {
    const res = await fetch(`${hs.url}/_matrix/client/v3${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(s ? { Authorization: `Bearer ${s.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Body };
  };
  const ok = async (s: Session, method: string, path: string, body?: unknown): Promise<Body> => {
    const r = await call(s, method, path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const register = async (username: string): Promise<Session> => {
    const b = (
      await call(undefined, 'POST', '/register', {
        username,
        password: `pw-${username}`,
        auth: { type: 'm.login.dummy' },
      })
    ).body;
    return { userId: b.user_id, deviceId: b.device_id, token: b.access_token };
  };
  const login = async (username: string): Promise<Session> => {
    const b = (
      await call(undefined, 'POST', '/login', {
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: username },
        password: `pw-${username}`,
      })
    ).body;
    return { userId: b.user_id, deviceId: b.device_id, token: b.access_token };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hs-e2e-'));
    hs = await startHomeserver({ serverName: 'example.com', dataDir: dir });
    alice = await register('alice');
    alice2 = await login('alice');
    bob = await register('bob');
    const room = await ok(alice, 'POST', '/createRoom', { invite: [bob.userId] });
    await ok(bob, 'POST', `/rooms/${encodeURIComponent(room.room_id)}/join`, {});
  });
  afterAll(async () => {
    await hs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads device, one-time and fallback keys and counts them; rejects a changed one-time key and a foreign device', async () => {
    const res = await ok(alice, 'POST', '/keys/upload', {
      device_keys: deviceKeys(alice),
      one_time_keys: {
        'signed_curve25519:AAAAHQ': otk('j3fR3HemM16M7CWhoI4Sk5ZsdmdfQHsKL1xuSft6MSw'),
        'signed_curve25519:AAAAHg': otk('zKbLg+NrIjpnagy+pIY6uPL4ZwEG2v+8F9lmgsnlZzs'),
      },
      fallback_keys: {
        'signed_curve25519:AAAAGj': { ...otk('zKbLg+NrIjpnagy+pIY6uPL4ZwEG2v+8F9lmgsnlZzs'), fallback: true },
      },
    });
    expect(res).toEqual({ one_time_key_counts: { signed_curve25519: 2 } });
    const clash = await call(alice, 'POST', '/keys/upload', {
      one_time_keys: { 'signed_curve25519:AAAAHQ': otk('different') },
    });
    expect(clash.status).toBe(400);
    const foreign = await call(alice, 'POST', '/keys/upload', { device_keys: deviceKeys(bob) });
    expect([foreign.status, foreign.body.errcode]).toEqual([400, 'M_BAD_JSON']);
  });

  it('answers /keys/query with device keys and the device name, and /keys/claim with one-time keys then the fallback key', async () => {
    const q = await ok(bob, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(q.device_keys[alice.userId][alice.deviceId]).toMatchObject({ ...deviceKeys(alice), unsigned: {} });
    expect(Object.keys(q.device_keys[alice.userId])).toEqual([alice.deviceId]);
    expect(q.failures).toEqual({});
    const claimed: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await ok(bob, 'POST', '/keys/claim', {
        one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } },
      });
      claimed.push(...Object.keys(c.one_time_keys[alice.userId]?.[alice.deviceId] ?? {}));
    }
    // Two one-time keys, then the fallback key as long as no new one is uploaded.
    expect(claimed).toEqual([
      'signed_curve25519:AAAAHQ',
      'signed_curve25519:AAAAHg',
      'signed_curve25519:AAAAGj',
      'signed_curve25519:AAAAGj',
    ]);
    const sync = await ok(alice, 'GET', '/sync?timeout=0');
    expect(sync.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
    expect(sync.device_unused_fallback_key_types).toEqual([]);
  });

  it('uploads cross-signing keys: the first time freely, a replacement only with the account password', async () => {
    const ssk = master1.sign(csKey(alice.userId, 'self_signing', selfSigning.pub), alice.userId);
    const usk = master1.sign(csKey(alice.userId, 'user_signing', userSigning.pub), alice.userId);
    // A self-signing key not signed by the master key is refused.
    const forged = await call(alice, 'POST', '/keys/device_signing/upload', {
      master_key: csKey(alice.userId, 'master', master1.pub),
      self_signing_key: selfSigning.sign(csKey(alice.userId, 'self_signing', selfSigning.pub), alice.userId),
    });
    expect([forged.status, forged.body.errcode]).toEqual([400, 'M_INVALID_SIGNATURE']);
    await ok(alice, 'POST', '/keys/device_signing/upload', {
      master_key: csKey(alice.userId, 'master', master1.pub),
      self_signing_key: ssk,
      user_signing_key: usk,
    });
    const replace = { master_key: csKey(alice.userId, 'master', master2.pub) };
    const first = await call(alice, 'POST', '/keys/device_signing/upload', replace);
    expect(first.status).toBe(401);
    expect(first.body.flows).toEqual([{ stages: ['m.login.password'] }]);
    const identifier = { type: 'm.id.user', user: alice.userId };
    const wrong = await call(alice, 'POST', '/keys/device_signing/upload', {
      ...replace,
      auth: { type: 'm.login.password', session: first.body.session, identifier, password: 'nope' },
    });
    expect([wrong.status, wrong.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    await ok(alice, 'POST', '/keys/device_signing/upload', {
      ...replace,
      self_signing_key: master2.sign(csKey(alice.userId, 'self_signing', selfSigning.pub), alice.userId),
      user_signing_key: master2.sign(csKey(alice.userId, 'user_signing', userSigning.pub), alice.userId),
      auth: { type: 'm.login.password', session: first.body.session, identifier, password: 'pw-alice' },
    });
    const mine = await ok(alice, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(mine.master_keys[alice.userId].keys).toEqual({ [`ed25519:${master2.pub}`]: master2.pub });
    expect(mine.user_signing_keys[alice.userId]).toBeDefined();
    const theirs = await ok(bob, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(theirs.self_signing_keys[alice.userId].keys).toEqual({ [`ed25519:${selfSigning.pub}`]: selfSigning.pub });
    expect(theirs.user_signing_keys[alice.userId]).toBeUndefined();
  });

  it("checks uploaded signatures: own devices by the self-signing key, another user's master key by the user-signing key", async () => {
    const signed = selfSigning.sign(deviceKeys(alice), alice.userId);
    const tampered = { ...signed, algorithms: ['m.olm.v1.curve25519-aes-sha2'] };
    const wrongSigner = master2.sign(deviceKeys(alice), alice.userId);
    const res = await ok(alice, 'POST', '/keys/signatures/upload', {
      [alice.userId]: { [alice.deviceId]: signed, NOPE: signed },
    });
    expect(res.failures[alice.userId].NOPE.errcode).toBe('M_NOT_FOUND');
    expect(res.failures[alice.userId][alice.deviceId]).toBeUndefined();
    const bad = await ok(alice, 'POST', '/keys/signatures/upload', {
      [alice.userId]: { [alice2.deviceId]: { ...wrongSigner, device_id: alice2.deviceId } },
    });
    expect(bad.failures[alice.userId][alice2.deviceId].errcode).toMatch(/M_NOT_FOUND|M_INVALID_SIGNATURE/);
    const changed = await ok(alice, 'POST', '/keys/signatures/upload', {
      [alice.userId]: { [alice.deviceId]: tampered },
    });
    expect(changed.failures[alice.userId][alice.deviceId]).toMatchObject({
      errcode: 'M_INVALID_SIGNATURE',
      error: 'Key does not match',
    });
    const q = await ok(bob, 'POST', '/keys/query', { device_keys: { [alice.userId]: [alice.deviceId] } });
    expect(q.device_keys[alice.userId][alice.deviceId].signatures[alice.userId]).toMatchObject({
      [`ed25519:${alice.deviceId}`]: expect.any(String),
      [`ed25519:${selfSigning.pub}`]: signed.signatures[alice.userId]![`ed25519:${selfSigning.pub}`],
    });

    // Bob vouches for Alice: his user-signing key signs her master key; only Bob sees that signature.
    const bobMaster = edKey();
    const bobUsk = edKey();
    await ok(bob, 'POST', '/keys/device_signing/upload', {
      master_key: csKey(bob.userId, 'master', bobMaster.pub),
      user_signing_key: bobMaster.sign(csKey(bob.userId, 'user_signing', bobUsk.pub), bob.userId),
    });
    const aliceMaster = (await ok(bob, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } })).master_keys[
      alice.userId
    ];
    const forgedVouch = await ok(bob, 'POST', '/keys/signatures/upload', {
      [alice.userId]: { [master2.pub]: bobMaster.sign(aliceMaster, bob.userId, `ed25519:${bobUsk.pub}`) },
    });
    expect(forgedVouch.failures[alice.userId][master2.pub].errcode).toBe('M_INVALID_SIGNATURE');
    const device = await ok(bob, 'POST', '/keys/signatures/upload', {
      [alice.userId]: { [alice.deviceId]: bobUsk.sign(deviceKeys(alice), bob.userId) },
    });
    expect(device.failures[alice.userId][alice.deviceId].errcode).toBe('M_INVALID_PARAM');
    const vouch = await ok(bob, 'POST', '/keys/signatures/upload', {
      [alice.userId]: { [master2.pub]: bobUsk.sign(aliceMaster, bob.userId) },
    });
    expect(vouch.failures).toEqual({});
    const bobView = await ok(bob, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(Object.keys(bobView.master_keys[alice.userId].signatures[bob.userId])).toEqual([`ed25519:${bobUsk.pub}`]);
    const aliceView = await ok(alice2, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(aliceView.master_keys[alice.userId].signatures?.[bob.userId]).toBeUndefined();
  });

  it('delivers to-device messages until the next since token is used, once per transaction id, to every device for "*"', async () => {
    const start = (await ok(alice, 'GET', '/sync?timeout=0')).next_batch as string;
    const startB = (await ok(alice2, 'GET', '/sync?timeout=0')).next_batch as string;
    const content = {
      algorithm: 'm.megolm.v1.aes-sha2',
      room_id: '!Cuyf34gef24t:localhost',
      session_id: 'X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ',
      session_key: 'AgAAAADxKHa9uFxcXzwYoNueL5kU',
    };
    await ok(bob, 'PUT', '/sendToDevice/m.room_key/txn1', { messages: { [alice.userId]: { '*': content } } });
    await ok(bob, 'PUT', '/sendToDevice/m.room_key/txn1', { messages: { [alice.userId]: { '*': content } } });
    const first = await ok(alice, 'GET', `/sync?timeout=0&since=${start}`);
    expect(first.to_device.events).toEqual([{ type: 'm.room_key', sender: bob.userId, content }]);
    // The same since token again (a lost response): delivered again.
    expect((await ok(alice, 'GET', `/sync?timeout=0&since=${start}`)).to_device.events).toHaveLength(1);
    const next = await ok(alice, 'GET', `/sync?timeout=0&since=${first.next_batch as string}`);
    expect(next.to_device.events).toEqual([]);
    expect((await ok(alice2, 'GET', `/sync?timeout=0&since=${startB}`)).to_device.events).toHaveLength(1);
  });

  it('wakes a waiting /sync with a to-device message', async () => {
    const since = (await ok(alice, 'GET', '/sync?timeout=0')).next_batch as string;
    const waiting = ok(alice, 'GET', `/sync?timeout=10000&since=${since}`);
    await new Promise((r) => setTimeout(r, 100));
    await ok(bob, 'PUT', `/sendToDevice/m.test/txn-wake`, {
      messages: { [alice.userId]: { [alice.deviceId]: { hello: 1 } } },
    });
    expect((await waiting).to_device.events).toEqual([{ type: 'm.test', sender: bob.userId, content: { hello: 1 } }]);
  });

  it('reports device list changes of users sharing a room in /sync and /keys/changes, and users who left', async () => {
    const since = (await ok(alice, 'GET', '/sync?timeout=0')).next_batch as string;
    await ok(bob, 'POST', '/keys/upload', { device_keys: deviceKeys(bob) });
    const sync = await ok(alice, 'GET', `/sync?timeout=0&since=${since}`);
    expect(sync.device_lists.changed).toContain(bob.userId);
    const changes = await ok(alice, 'GET', `/keys/changes?from=${since}&to=${sync.next_batch as string}`);
    expect(changes.changed).toContain(bob.userId);
    const rooms = await ok(bob, 'GET', '/joined_rooms');
    await ok(bob, 'POST', `/rooms/${encodeURIComponent(rooms.joined_rooms[0])}/leave`, {});
    const after = await ok(alice, 'GET', `/sync?timeout=0&since=${sync.next_batch as string}`);
    expect(after.device_lists.left).toEqual([bob.userId]);
  });

  it('keeps room key backups: versions, the better copy of a key, wrong versions refused, deletion', async () => {
    expect((await call(alice, 'GET', '/room_keys/version')).body.errcode).toBe('M_NOT_FOUND');
    const authData = { public_key: 'abcdefg', signatures: { [alice.userId]: { 'ed25519:deviceid': 'signature' } } };
    const { version } = await ok(alice, 'POST', '/room_keys/version', {
      algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2',
      auth_data: authData,
    });
    expect(await ok(alice, 'GET', '/room_keys/version')).toEqual({
      algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2',
      auth_data: authData,
      version,
      etag: '0',
      count: 0,
    });
    const key = (index: number, verified: boolean): Body => ({
      first_message_index: index,
      forwarded_count: 0,
      is_verified: verified,
      session_data: {
        ephemeral: 'base64+ephemeral+key',
        ciphertext: 'base64+ciphertext+of+JSON+data',
        mac: 'base64+mac+of+ciphertext',
      },
    });
    const room = '!room:example.org';
    expect((await call(alice, 'PUT', '/room_keys/keys?version=99', { rooms: {} })).body.errcode).toBe(
      'M_WRONG_ROOM_KEYS_VERSION',
    );
    expect(
      await ok(alice, 'PUT', `/room_keys/keys?version=${version}`, {
        rooms: { [room]: { sessions: { sessionid1: key(1, false) } } },
      }),
    ).toEqual({ etag: '1', count: 1 });
    await ok(alice, 'PUT', `/room_keys/keys/${encodeURIComponent(room)}/sessionid1?version=${version}`, key(5, false));
    expect(
      (await ok(alice, 'GET', `/room_keys/keys/${encodeURIComponent(room)}/sessionid1?version=${version}`))
        .first_message_index,
    ).toBe(1);
    await ok(alice, 'PUT', `/room_keys/keys/${encodeURIComponent(room)}?version=${version}`, {
      sessions: { sessionid1: key(7, true), sessionid2: key(0, false) },
    });
    expect(
      (await ok(alice, 'GET', `/room_keys/keys/${encodeURIComponent(room)}?version=${version}`)).sessions.sessionid1
        .is_verified,
    ).toBe(true);
    expect(Object.keys((await ok(alice, 'GET', `/room_keys/keys?version=${version}`)).rooms[room].sessions)).toEqual([
      'sessionid1',
      'sessionid2',
    ]);
    expect(
      (
        await call(alice, 'PUT', `/room_keys/version/${version as string}`, {
          algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2',
          auth_data: authData,
          version: '42',
        })
      ).status,
    ).toBe(400);
    expect((await call(bob, 'GET', `/room_keys/version/${version as string}`)).status).toBe(404);
    await ok(alice, 'DELETE', `/room_keys/version/${version as string}`);
    expect((await call(alice, 'GET', '/room_keys/version')).status).toBe(404);
  });

  it('keeps keys and backups across a restart on the same data directory', async () => {
    await ok(alice, 'POST', '/room_keys/version', {
      algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2',
      auth_data: { public_key: 'k' },
    });
    await hs.close();
    hs = await startHomeserver({ serverName: 'example.com', dataDir: dir });
    const q = await ok(alice, 'POST', '/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(q.device_keys[alice.userId][alice.deviceId].keys).toEqual(deviceKeys(alice).keys);
    expect(q.master_keys[alice.userId].keys).toEqual({ [`ed25519:${master2.pub}`]: master2.pub });
    expect((await ok(alice, 'GET', '/room_keys/version')).version).toBe('2');
  });

  it('chooses between two copies of a backed-up key as the spec says', () => {
    const k = (first_message_index: number, forwarded_count: number, is_verified: boolean): Body => ({
      first_message_index,
      forwarded_count,
      is_verified,
    });
    const table: Array<[Body | undefined, Body, boolean]> = [
      [undefined, k(3, 0, false), true],
      [k(0, 0, false), k(0, 0, true), true],
      [k(0, 0, true), k(0, 0, false), false],
      [k(5, 0, false), k(2, 9, false), true],
      [k(2, 0, false), k(5, 0, false), false],
      [k(2, 3, false), k(2, 1, false), true],
      [k(2, 1, false), k(2, 1, false), false],
    ];
    for (const [existing, incoming, replace] of table) expect(betterKey(existing, incoming)).toBe(replace);
  });
});
