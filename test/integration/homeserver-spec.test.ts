// The test homeserver against the client-server spec's examples, driven with raw fetch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';

const TOKEN = 'reg-token-123';

interface Res {
  status: number;
  body: Record<string, unknown>;
}

function client(base: () => string) {
  return async (
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string } = {},
  ): Promise<Res> => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), 'Content-Type': 'application/json' },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

const C = '/_matrix/client/v3';

describe('test homeserver: spec behaviour over raw HTTP', () => {
  let dir: string;
  let hs: Homeserver;
  const api = client(() => hs.url);

  async function register(
    username: string,
    password = 'pw-' + username,
  ): Promise<{ token: string; userId: string; deviceId: string }> {
    const first = await api('POST', `${C}/register`, { body: { username, password } });
    expect(first.status).toBe(401);
    const done = await api('POST', `${C}/register`, {
      body: {
        username,
        password,
        auth: { type: 'm.login.registration_token', token: TOKEN, session: first.body.session },
      },
    });
    expect(done.status).toBe(200);
    return {
      token: done.body.access_token as string,
      userId: done.body.user_id as string,
      deviceId: done.body.device_id as string,
    };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hs-spec-'));
    hs = await startHomeserver({ serverName: 'test.local', dataDir: dir, registrationToken: TOKEN });
  });
  afterAll(async () => {
    await hs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /versions and rejects unknown endpoints with M_UNRECOGNIZED', async () => {
    const v = await api('GET', '/_matrix/client/versions');
    expect(v.status).toBe(200);
    expect(v.body.versions).toContain('v1.11');
    expect(await api('GET', `${C}/no/such/thing`)).toMatchObject({ status: 404, body: { errcode: 'M_UNRECOGNIZED' } });
    expect(await api('DELETE', `${C}/login`)).toMatchObject({ status: 405, body: { errcode: 'M_UNRECOGNIZED' } });
  });

  it('registers through the registration-token flow and rejects a wrong token', async () => {
    const first = await api('POST', `${C}/register`, { body: { username: 'alice', password: 'secret' } });
    expect(first.status).toBe(401);
    expect(first.body).toMatchObject({ flows: [{ stages: ['m.login.registration_token'] }], params: {} });
    expect(typeof first.body.session).toBe('string');
    const wrong = await api('POST', `${C}/register`, {
      body: {
        username: 'alice',
        password: 'secret',
        auth: { type: 'm.login.registration_token', token: 'nope', session: first.body.session },
      },
    });
    expect(wrong).toMatchObject({ status: 401, body: { errcode: 'M_FORBIDDEN', session: first.body.session } });
    const dummy = await api('POST', `${C}/register`, {
      body: { username: 'alice', password: 'secret', auth: { type: 'm.login.dummy', session: first.body.session } },
    });
    expect(dummy.status).toBe(401);
    const ok = await api('POST', `${C}/register`, {
      body: {
        username: 'alice',
        password: 'secret',
        auth: { type: 'm.login.registration_token', token: TOKEN, session: first.body.session },
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ user_id: '@alice:test.local' });
    expect(await api('POST', `${C}/register`, { body: { username: 'alice', password: 'x' } })).toMatchObject({
      status: 400,
      body: { errcode: 'M_USER_IN_USE' },
    });
    expect(await api('POST', `${C}/register`, { body: { username: 'Bad Name', password: 'x' } })).toMatchObject({
      status: 400,
      body: { errcode: 'M_INVALID_USERNAME' },
    });
    expect(await api('GET', `${C}/register/available?username=alice`)).toMatchObject({
      status: 400,
      body: { errcode: 'M_USER_IN_USE' },
    });
    expect(
      (await api('GET', `/_matrix/client/v1/register/m.login.registration_token/validity?token=${TOKEN}`)).body,
    ).toEqual({ valid: true });
    expect((await api('GET', `/_matrix/client/v1/register/m.login.registration_token/validity?token=x`)).body).toEqual({
      valid: false,
    });
  });

  it('logs in, keeps a device id passed again, and rejects bad tokens as the spec says', async () => {
    const bad = await api('POST', `${C}/login`, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong' },
    });
    expect(bad).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    const a = await api('POST', `${C}/login`, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'secret' },
    });
    expect(a.status).toBe(200);
    const b = await api('POST', `${C}/login`, {
      body: { type: 'm.login.password', user: '@alice:test.local', password: 'secret', device_id: a.body.device_id },
    });
    expect(b.body.device_id).toBe(a.body.device_id);
    expect(await api('GET', `${C}/account/whoami`, { token: a.body.access_token as string })).toMatchObject({
      status: 401,
      body: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: false },
    });
    expect(await api('GET', `${C}/account/whoami`, { token: b.body.access_token as string })).toMatchObject({
      status: 200,
      body: { user_id: '@alice:test.local', device_id: a.body.device_id },
    });
    expect(await api('GET', `${C}/account/whoami`)).toMatchObject({
      status: 401,
      body: { errcode: 'M_MISSING_TOKEN' },
    });
    expect(await api('POST', `${C}/login`, { raw: '{not json' })).toMatchObject({
      status: 400,
      body: { errcode: 'M_NOT_JSON' },
    });
    expect(await api('POST', `${C}/logout`, { token: b.body.access_token as string })).toMatchObject({ status: 200 });
    expect((await api('GET', `${C}/account/whoami`, { token: b.body.access_token as string })).body.errcode).toBe(
      'M_UNKNOWN_TOKEN',
    );
  });

  it('wakes a long-polling /sync with a send, and a repeated txn id yields the same event', async () => {
    const u = await register('poller');
    const room = await api('POST', `${C}/createRoom`, {
      token: u.token,
      body: { name: 'Poll', preset: 'private_chat' },
    });
    const roomId = room.body.room_id as string;
    const initial = await api('GET', `${C}/sync?timeout=0`, { token: u.token });
    const joined = (
      initial.body.rooms as {
        join: Record<
          string,
          { state: { events: Array<{ type: string }> }; timeline: { events: Array<{ type: string }> } }
        >;
      }
    ).join[roomId];
    const types = [...(joined?.state.events ?? []), ...(joined?.timeline.events ?? [])].map((e) => e.type);
    expect(types.slice(0, 7)).toEqual([
      'm.room.create',
      'm.room.member',
      'm.room.power_levels',
      'm.room.join_rules',
      'm.room.history_visibility',
      'm.room.guest_access',
      'm.room.name',
    ]);
    const started = Date.now();
    const poll = api('GET', `${C}/sync?timeout=10000&since=${initial.body.next_batch as string}`, { token: u.token });
    await new Promise((r) => setTimeout(r, 150));
    const sent = await api('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`, {
      token: u.token,
      body: { msgtype: 'm.text', body: 'hello' },
    });
    const again = await api('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn1`, {
      token: u.token,
      body: { msgtype: 'm.text', body: 'hello' },
    });
    expect(again.body.event_id).toBe(sent.body.event_id);
    const woke = await poll;
    expect(Date.now() - started).toBeLessThan(5000);
    const tl =
      (woke.body.rooms as { join: Record<string, { timeline: { events: Array<Record<string, unknown>> } }> }).join[
        roomId
      ]?.timeline.events ?? [];
    expect(tl.map((e) => e.event_id)).toEqual([sent.body.event_id]);
    expect((tl[0]?.unsigned as Record<string, unknown>).transaction_id).toBe('txn1');
  });

  it('rejects state changes below the power level, sends by non-members and oversized events', async () => {
    const owner = await register('owner');
    const bot = await register('bot');
    const outsider = await register('outsider');
    const { body } = await api('POST', `${C}/createRoom`, {
      token: owner.token,
      body: {
        preset: 'private_chat',
        invite: [bot.userId],
        power_level_content_override: { events_default: 0, state_default: 100 },
      },
    });
    const roomId = encodeURIComponent(body.room_id as string);
    expect(
      await api('POST', `${C}/join/${encodeURIComponent(body.room_id as string)}`, { token: outsider.token }),
    ).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect((await api('POST', `${C}/rooms/${roomId}/join`, { token: bot.token })).status).toBe(200);
    expect(
      await api('PUT', `${C}/rooms/${roomId}/state/m.room.topic/`, { token: bot.token, body: { topic: 'hijack' } }),
    ).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(
      (
        await api('PUT', `${C}/rooms/${roomId}/send/m.room.message/t1`, {
          token: bot.token,
          body: { msgtype: 'm.text', body: 'ok' },
        })
      ).status,
    ).toBe(200);
    expect(
      await api('PUT', `${C}/rooms/${roomId}/send/m.room.message/t2`, {
        token: outsider.token,
        body: { msgtype: 'm.text', body: 'no' },
      }),
    ).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    expect(
      await api('PUT', `${C}/rooms/${roomId}/send/m.room.message/t3`, {
        token: bot.token,
        body: { msgtype: 'm.text', body: 'x'.repeat(70_000) },
      }),
    ).toMatchObject({ status: 413, body: { errcode: 'M_TOO_LARGE' } });
    expect(
      (await api('PUT', `${C}/rooms/${roomId}/state/m.room.topic`, { token: owner.token, body: { topic: 'fine' } }))
        .status,
    ).toBe(200);
    expect((await api('GET', `${C}/rooms/${roomId}/state/m.room.topic/`, { token: bot.token })).body).toEqual({
      topic: 'fine',
    });
    expect(await api('POST', `${C}/createRoom`, { token: owner.token, body: { invite: 'not-a-list' } })).toMatchObject({
      status: 400,
      body: { errcode: 'M_BAD_JSON' },
    });
    expect(await api('GET', `${C}/rooms/${roomId}/messages?from=garbage`, { token: owner.token })).toMatchObject({
      status: 400,
      body: { errcode: 'M_INVALID_PARAM' },
    });
    expect(
      (await api('POST', `${C}/rooms/${roomId}/kick`, { token: bot.token, body: { user_id: owner.userId } })).status,
    ).toBe(403);
    expect(
      (
        await api('POST', `${C}/rooms/${roomId}/kick`, {
          token: owner.token,
          body: { user_id: bot.userId, reason: 'removed' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await api('PUT', `${C}/rooms/${roomId}/send/m.room.message/t4`, {
          token: bot.token,
          body: { msgtype: 'm.text', body: 'after kick' },
        })
      ).status,
    ).toBe(403);
  });

  it('paginates /messages backwards and forwards, and serves m.replace relations', async () => {
    const u = await register('pager');
    const { body } = await api('POST', `${C}/createRoom`, { token: u.token, body: {} });
    const roomId = encodeURIComponent(body.room_id as string);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(
        (
          await api('PUT', `${C}/rooms/${roomId}/send/m.room.message/m${i}`, {
            token: u.token,
            body: { msgtype: 'm.text', body: `m${i}` },
          })
        ).body.event_id as string,
      );
    }
    const filter = encodeURIComponent(JSON.stringify({ types: ['m.room.message'] }));
    const p1 = await api('GET', `${C}/rooms/${roomId}/messages?dir=b&limit=3&filter=${filter}`, { token: u.token });
    expect((p1.body.chunk as Array<{ content: { body: string } }>).map((e) => e.content.body)).toEqual([
      'm6',
      'm5',
      'm4',
    ]);
    const p2 = await api(
      'GET',
      `${C}/rooms/${roomId}/messages?dir=b&limit=3&from=${p1.body.end as string}&filter=${filter}`,
      { token: u.token },
    );
    expect((p2.body.chunk as Array<{ content: { body: string } }>).map((e) => e.content.body)).toEqual([
      'm3',
      'm2',
      'm1',
    ]);
    const p3 = await api(
      'GET',
      `${C}/rooms/${roomId}/messages?dir=b&limit=3&from=${p2.body.end as string}&filter=${filter}`,
      { token: u.token },
    );
    expect((p3.body.chunk as Array<{ content: { body: string } }>).map((e) => e.content.body)).toEqual(['m0']);
    expect(p3.body.end).toBeUndefined();
    const f = await api(
      'GET',
      `${C}/rooms/${roomId}/messages?dir=f&limit=2&from=${p2.body.end as string}&filter=${filter}`,
      { token: u.token },
    );
    // A token is a position between events: p2's end sits between m0 and m1.
    expect((f.body.chunk as Array<{ content: { body: string } }>).map((e) => e.content.body)).toEqual(['m1', 'm2']);

    const target = ids[6] as string;
    const edit = {
      msgtype: 'm.text',
      body: '* m6 edited',
      'm.new_content': { msgtype: 'm.text', body: 'm6 edited' },
      'm.relates_to': { rel_type: 'm.replace', event_id: target },
    };
    const e1 = await api('PUT', `${C}/rooms/${roomId}/send/m.room.message/e1`, { token: u.token, body: edit });
    await api('PUT', `${C}/rooms/${roomId}/send/m.reaction/r1`, {
      token: u.token,
      body: { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } },
    });
    const rel = await api(
      'GET',
      `/_matrix/client/v1/rooms/${roomId}/relations/${encodeURIComponent(target)}/m.replace`,
      { token: u.token },
    );
    expect((rel.body.chunk as Array<{ event_id: string }>).map((e) => e.event_id)).toEqual([e1.body.event_id]);
    const all = await api('GET', `/_matrix/client/v1/rooms/${roomId}/relations/${encodeURIComponent(target)}`, {
      token: u.token,
    });
    expect((all.body.chunk as unknown[]).length).toBe(2);
    const original = await api('GET', `${C}/rooms/${roomId}/event/${encodeURIComponent(target)}`, { token: u.token });
    expect(
      (original.body.unsigned as Record<string, Record<string, Record<string, unknown>>>)['m.relations']?.['m.replace']
        ?.event_id,
    ).toBe(e1.body.event_id);
    const ctx = await api('GET', `${C}/rooms/${roomId}/context/${encodeURIComponent(ids[3] as string)}?limit=2`, {
      token: u.token,
    });
    expect((ctx.body.events_before as Array<{ event_id: string }>)[0]?.event_id).toBe(ids[2]);
    expect((ctx.body.events_after as Array<{ event_id: string }>)[0]?.event_id).toBe(ids[4]);
  });

  it('syncs invites, profile changes, typing, receipts, account data and leaves; serves media', async () => {
    const a = await register('sa');
    const b = await register('sb');
    const { body } = await api('POST', `${C}/createRoom`, {
      token: a.token,
      body: { preset: 'trusted_private_chat', name: 'Ephemeral', invite: [b.userId], is_direct: true },
    });
    const roomId = body.room_id as string;
    const r = encodeURIComponent(roomId);
    const bInit = await api('GET', `${C}/sync`, { token: b.token });
    const inv = (
      bInit.body.rooms as {
        invite: Record<string, { invite_state: { events: Array<{ type: string; content: Record<string, unknown> }> } }>;
      }
    ).invite[roomId];
    expect(inv?.invite_state.events.find((e) => e.type === 'm.room.name')?.content).toEqual({ name: 'Ephemeral' });
    expect(inv?.invite_state.events.find((e) => e.type === 'm.room.member')?.content).toMatchObject({
      membership: 'invite',
      is_direct: true,
    });
    await api('POST', `${C}/join/${r}`, { token: b.token });
    const since = (await api('GET', `${C}/sync`, { token: b.token })).body.next_batch as string;

    await api('PUT', `${C}/profile/${encodeURIComponent(a.userId)}/displayname`, {
      token: a.token,
      body: { displayname: 'Alice A.' },
    });
    expect(
      (
        await api('PUT', `${C}/profile/${encodeURIComponent(a.userId)}/displayname`, {
          token: b.token,
          body: { displayname: 'x' },
        })
      ).status,
    ).toBe(403);
    await api('PUT', `${C}/rooms/${r}/typing/${encodeURIComponent(a.userId)}`, {
      token: a.token,
      body: { typing: true, timeout: 5000 },
    });
    const msg = await api('PUT', `${C}/rooms/${r}/send/m.room.message/x1`, {
      token: a.token,
      body: { msgtype: 'm.text', body: 'hi' },
    });
    await api('POST', `${C}/rooms/${r}/receipt/m.read/${encodeURIComponent(msg.body.event_id as string)}`, {
      token: a.token,
      body: {},
    });
    await api('PUT', `${C}/user/${encodeURIComponent(b.userId)}/account_data/m.direct`, {
      token: b.token,
      body: { [a.userId]: [roomId] },
    });
    const inc = await api('GET', `${C}/sync?since=${since}`, { token: b.token });
    const jr = (
      inc.body.rooms as {
        join: Record<
          string,
          {
            timeline: { events: Array<{ type: string; content: Record<string, unknown> }> };
            ephemeral: { events: Array<{ type: string; content: Record<string, unknown> }> };
            unread_notifications: Record<string, number>;
          }
        >;
      }
    ).join[roomId];
    expect(jr?.timeline.events.find((e) => e.type === 'm.room.member')?.content).toMatchObject({
      membership: 'join',
      displayname: 'Alice A.',
    });
    expect(jr?.ephemeral.events.find((e) => e.type === 'm.typing')?.content).toEqual({ user_ids: [a.userId] });
    expect(Object.keys(jr?.ephemeral.events.find((e) => e.type === 'm.receipt')?.content ?? {})).toEqual([
      msg.body.event_id,
    ]);
    expect(jr?.unread_notifications.notification_count).toBe(1);
    expect((inc.body.account_data as { events: Array<{ type: string }> }).events.map((e) => e.type)).toEqual([
      'm.direct',
    ]);
    expect(
      (await api('GET', `${C}/user/${encodeURIComponent(b.userId)}/account_data/m.direct`, { token: b.token })).body,
    ).toEqual({ [a.userId]: [roomId] });
    expect(
      (await api('GET', `${C}/user/${encodeURIComponent(b.userId)}/account_data/nope`, { token: b.token })).body
        .errcode,
    ).toBe('M_NOT_FOUND');

    const members = await api('GET', `${C}/rooms/${r}/joined_members`, { token: b.token });
    expect(members.body.joined).toMatchObject({ [a.userId]: { display_name: 'Alice A.' } });
    await api('POST', `${C}/rooms/${r}/leave`, { token: b.token });
    const afterLeave = await api('GET', `${C}/sync?since=${inc.body.next_batch as string}`, { token: b.token });
    expect(Object.keys((afterLeave.body.rooms as { leave: Record<string, unknown> }).leave)).toEqual([roomId]);
    expect(
      (
        await api('PUT', `${C}/rooms/${r}/send/m.room.message/x2`, {
          token: b.token,
          body: { msgtype: 'm.text', body: 'gone' },
        })
      ).status,
    ).toBe(403);
    expect((await api('POST', `${C}/rooms/${r}/forget`, { token: b.token })).status).toBe(200);

    const up = await fetch(`${hs.url}/_matrix/media/v3/upload?filename=a.png`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${a.token}`, 'Content-Type': 'image/png' },
      body: new Uint8Array([1, 2, 3]),
    });
    const uri = ((await up.json()) as { content_uri: string }).content_uri;
    expect(uri).toMatch(/^mxc:\/\/test\.local\//);
    const path = uri.slice('mxc://'.length);
    const authed = await fetch(`${hs.url}/_matrix/client/v1/media/download/${path}`, {
      headers: { Authorization: `Bearer ${b.token}` },
    });
    expect(authed.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await authed.arrayBuffer())]).toEqual([1, 2, 3]);
    expect((await fetch(`${hs.url}/_matrix/client/v1/media/download/${path}`)).status).toBe(401);
    expect((await fetch(`${hs.url}/_matrix/media/v3/download/test.local/missing`)).status).toBe(404);
    await api('PUT', `${C}/profile/${encodeURIComponent(a.userId)}/avatar_url`, {
      token: a.token,
      body: { avatar_url: uri },
    });
    expect((await api('GET', `${C}/profile/${encodeURIComponent(a.userId)}`)).body).toEqual({
      displayname: 'Alice A.',
      avatar_url: uri,
    });
  });

  it('answers rate limits with M_LIMIT_EXCEEDED and injected faults', async () => {
    hs.setRateLimit({ maxRequests: 2, windowMs: 60_000, path: '/login' });
    const login = { type: 'm.login.password', user: 'alice', password: 'secret' };
    await api('POST', `${C}/login`, { body: login });
    await api('POST', `${C}/login`, { body: login });
    const limited = await api('POST', `${C}/login`, { body: login });
    expect(limited).toMatchObject({ status: 429, body: { errcode: 'M_LIMIT_EXCEEDED' } });
    expect(limited.body.retry_after_ms).toBeGreaterThan(0);
    hs.setRateLimit(undefined);
    hs.faults.push(
      { path: '/capabilities', respond: 'error500', times: 1 },
      { path: '/pushrules', respond: 'garbage', times: 1 },
    );
    const u = await register('faulty');
    expect((await api('GET', `${C}/capabilities`, { token: u.token })).status).toBe(500);
    expect((await api('GET', `${C}/capabilities`, { token: u.token })).status).toBe(200);
    await expect(api('GET', `${C}/pushrules/`, { token: u.token })).rejects.toThrow(SyntaxError);
  });

  it('keeps accounts, tokens, rooms, events and since tokens across a restart', async () => {
    const u = await register('durable');
    const { body } = await api('POST', `${C}/createRoom`, { token: u.token, body: { name: 'Durable' } });
    const roomId = body.room_id as string;
    const sent = await api('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/d1`, {
      token: u.token,
      body: { msgtype: 'm.text', body: 'kept' },
    });
    const s1 = await api('GET', `${C}/sync?timeout=0`, { token: u.token });
    await hs.close();
    hs = await startHomeserver({ serverName: 'test.local', dataDir: dir, registrationToken: TOKEN });
    expect((await api('GET', `${C}/account/whoami`, { token: u.token })).body.user_id).toBe(u.userId);
    const again = await api('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/d1`, {
      token: u.token,
      body: { msgtype: 'm.text', body: 'kept' },
    });
    expect(again.body.event_id).toBe(sent.body.event_id);
    const ev = await api(
      'GET',
      `${C}/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(sent.body.event_id as string)}`,
      { token: u.token },
    );
    expect((ev.body.content as { body: string }).body).toBe('kept');
    const after = await api('PUT', `${C}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/d2`, {
      token: u.token,
      body: { msgtype: 'm.text', body: 'new' },
    });
    const s2 = await api('GET', `${C}/sync?timeout=0&since=${s1.body.next_batch as string}`, { token: u.token });
    const tl =
      (s2.body.rooms as { join: Record<string, { timeline: { events: Array<{ event_id: string }> } }> }).join[roomId]
        ?.timeline.events ?? [];
    expect(tl.map((e) => e.event_id)).toEqual([after.body.event_id]);
  });

  it('closes promptly while a /sync long-poll is open', async () => {
    const u = await register('closer');
    const s = await api('GET', `${C}/sync?timeout=0`, { token: u.token });
    const poll = api('GET', `${C}/sync?timeout=30000&since=${s.body.next_batch as string}`, { token: u.token }).catch(
      () => 'closed',
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await hs.close();
    await poll;
    expect(Date.now() - started).toBeLessThan(1000);
    hs = await startHomeserver({ serverName: 'test.local', dataDir: dir, registrationToken: TOKEN });
  });
});
