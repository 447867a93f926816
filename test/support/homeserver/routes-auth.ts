// Accounts: register (user-interactive auth with a registration token), login, logout, whoami, devices, profile.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import {
  MatrixError,
  asObject,
  badJson,
  forbidden,
  invalidParam,
  notFound,
  optBool,
  optObject,
  optString,
  unknown,
} from './errors.ts';
import { newDeviceId, newToken, randomId, type Hs } from './context.ts';
import type { Ctx, Route } from './router.ts';
import { propagateProfile } from './room-ops.ts';

// Low scrypt cost: this is a test server, and tests register many accounts on 2 shared cores.
function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `${salt.toString('hex')}:${scryptSync(password, salt, 32, { N: 1024 }).toString('hex')}`;
}

function checkPassword(password: string, stored: string | undefined): boolean {
  if (!stored) return false;
  const [salt, hash] = stored.split(':') as [string, string];
  const got = scryptSync(password, Buffer.from(salt, 'hex'), 32, { N: 1024 });
  return timingSafeEqual(got, Buffer.from(hash, 'hex'));
}

const LOCALPART = /^[a-z0-9._=\-/+]+$/;

function userIdFor(hs: Hs, username: string): string {
  const local = username.startsWith('@') ? (username.slice(1).split(':')[0] ?? '') : username;
  if (username.startsWith('@') && !username.endsWith(`:${hs.config.serverName}`))
    throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID does not belong to this server');
  if (local === '' || !LOCALPART.test(local)) {
    throw new MatrixError(400, 'M_INVALID_USERNAME', "User ID can only contain characters a-z, 0-9, or '=_-./+'");
  }
  if (local.startsWith('_')) throw new MatrixError(400, 'M_INVALID_USERNAME', "User ID may not begin with '_'");
  const userId = `@${local}:${hs.config.serverName}`;
  if (userId.length > 255)
    throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may not be longer than 255 characters');
  return userId;
}

/** A device for the user: an existing device_id is kept (its old tokens end), as the spec says for /login. */
function issueLogin(
  hs: Hs,
  userId: string,
  deviceId: string | undefined,
  displayName: string | undefined,
): Record<string, unknown> {
  const device = deviceId ?? newDeviceId();
  const existing = hs.store.devices.get(`${userId}\u0000${device}`);
  if (existing) {
    for (const [t, v] of hs.store.tokens)
      if (v.userId === userId && v.deviceId === device) hs.store.commit({ k: 'token-del', token: t });
  } else {
    hs.store.commit({ k: 'device', userId, deviceId: device, displayName, ts: Date.now() });
  }
  const token = newToken();
  hs.store.commit({ k: 'token', token, userId, deviceId: device });
  return { user_id: userId, access_token: token, device_id: device, home_server: hs.config.serverName };
}

interface UiaSession {
  completed: string[];
}

export function authRoutes(hs: Hs): Route[] {
  const sessions = new Map<string, UiaSession>();
  const flows = (): Array<{ stages: string[] }> => [
    { stages: [hs.config.registrationToken !== undefined ? 'm.login.registration_token' : 'm.login.dummy'] },
  ];
  const uia401 = (session: string, completed: string[], err?: MatrixError): MatrixError =>
    new MatrixError(401, err?.errcode ?? 'M_UNAUTHORIZED', err?.message ?? 'Additional authentication required', {
      flows: flows(),
      params: {},
      session,
      completed,
    });

  const register = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const kind = ctx.query.get('kind') ?? 'user';
    if (kind === 'guest') throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is disabled');
    if (kind !== 'user') throw invalidParam(`Unknown kind ${kind}`);
    if (!hs.config.allowRegistration) throw forbidden('Registration has been disabled');
    const username = optString(body, 'username');
    const password = optString(body, 'password');
    const inhibit = optBool(body, 'inhibit_login') ?? false;
    // Like Synapse, the username is checked before the auth stages so a client learns early it is taken.
    const userId = username !== undefined ? userIdFor(hs, username) : undefined;
    if (userId && hs.store.users.has(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    const auth = optObject(body, 'auth');
    let sessionId = auth ? optString(auth, 'session') : undefined;
    if (sessionId !== undefined && !sessions.has(sessionId))
      throw new MatrixError(400, 'M_UNKNOWN', `Unknown session ID: ${sessionId}`);
    if (sessionId === undefined) {
      sessionId = randomId(18);
      sessions.set(sessionId, { completed: [] });
    }
    const session = sessions.get(sessionId) as UiaSession;
    if (auth) {
      const type = optString(auth, 'type');
      if (type === 'm.login.registration_token' && hs.config.registrationToken !== undefined) {
        const token = optString(auth, 'token');
        if (token !== hs.config.registrationToken)
          throw uia401(sessionId, session.completed, forbidden('Invalid registration token'));
        if (!session.completed.includes(type)) session.completed.push(type);
      } else if (type === 'm.login.dummy' && hs.config.registrationToken === undefined) {
        if (!session.completed.includes(type)) session.completed.push(type);
      } else if (type !== undefined) {
        throw uia401(
          sessionId,
          session.completed,
          new MatrixError(401, 'M_UNKNOWN', `Auth type ${type} is not part of any flow`),
        );
      }
    }
    const done = flows().some((f) => f.stages.every((s) => session.completed.includes(s)));
    if (!done) throw uia401(sessionId, session.completed);
    sessions.delete(sessionId);
    const finalId = userId ?? userIdFor(hs, String(100000 + hs.store.users.size));
    if (hs.store.users.has(finalId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    hs.store.commit({
      k: 'user',
      userId: finalId,
      passwordHash: password === undefined ? undefined : hashPassword(password),
      createdTs: Date.now(),
    });
    // Synapse gives a new account its localpart as display name.
    hs.store.commit({ k: 'profile', userId: finalId, displayname: finalId.slice(1).split(':')[0] ?? null });
    if (inhibit) return { body: { user_id: finalId, home_server: hs.config.serverName } };
    return {
      body: issueLogin(hs, finalId, optString(body, 'device_id'), optString(body, 'initial_device_display_name')),
    };
  };

  const login = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const type = optString(body, 'type');
    if (type !== 'm.login.password') throw unknown(`Unknown login type ${String(type)}`);
    const identifier = optObject(body, 'identifier');
    let user: string | undefined;
    if (identifier) {
      if (identifier.type !== 'm.id.user') throw unknown('Unknown identifier type');
      user = optString(identifier, 'user');
    } else user = optString(body, 'user');
    if (user === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing user identifier');
    const password = optString(body, 'password') ?? '';
    let userId: string;
    try {
      userId = userIdFor(hs, user.toLowerCase());
    } catch {
      throw forbidden('Invalid username or password');
    }
    const account = hs.store.users.get(userId);
    if (!account || !checkPassword(password, account.passwordHash)) throw forbidden('Invalid username or password');
    return {
      body: issueLogin(hs, userId, optString(body, 'device_id'), optString(body, 'initial_device_display_name')),
    };
  };

  const ensureSelf = (ctx: Ctx): void => {
    if (ctx.params.userId !== ctx.caller.userId) throw forbidden('You may only change your own profile');
  };

  const profile = (userId: string): Record<string, unknown> => {
    const u = hs.store.users.get(userId);
    if (!u) throw notFound('Profile was not found');
    const out: Record<string, unknown> = {};
    if (u.displayname !== undefined) out.displayname = u.displayname;
    if (u.avatarUrl !== undefined) out.avatar_url = u.avatarUrl;
    return out;
  };

  // Deleting devices needs user-interactive auth with the account password (spec: DELETE /devices/{deviceId},
  // POST /delete_devices). As Synapse does, auth without a session starts one and completes it in one request.
  const uiaSessions = new Set<string>();
  const requirePassword = (ctx: Ctx): void => {
    const auth = optObject(asObject(ctx.body ?? {}), 'auth');
    const flows = [{ stages: ['m.login.password'] }];
    if (!auth) {
      const session = randomId(18);
      uiaSessions.add(session);
      throw new MatrixError(401, 'M_UNAUTHORIZED', 'Additional authentication required', {
        flows,
        params: {},
        session,
        completed: [],
      });
    }
    const session = optString(auth, 'session') ?? randomId(18);
    if (auth.session !== undefined && !uiaSessions.has(session))
      throw new MatrixError(400, 'M_UNKNOWN', `Unknown session ID: ${session}`);
    if (auth.type !== 'm.login.password')
      throw new MatrixError(401, 'M_UNKNOWN', `Auth type ${String(auth.type)} is not part of any flow`, {
        flows,
        params: {},
        session,
        completed: [],
      });
    const identifier = optObject(auth, 'identifier');
    const user = String(identifier?.user ?? auth.user ?? '');
    const userOk = user === ctx.caller.userId || user === ctx.caller.userId.slice(1).split(':')[0];
    if (!userOk || !checkPassword(String(auth.password ?? ''), hs.store.users.get(ctx.caller.userId)?.passwordHash)) {
      throw new MatrixError(401, 'M_FORBIDDEN', 'Invalid username or password', {
        flows,
        params: {},
        session,
        completed: [],
      });
    }
    uiaSessions.delete(session);
  };
  const deleteDevices = (ctx: Ctx, ids: string[]): void => {
    requirePassword(ctx);
    // Unknown ids are ignored, as in Synapse.
    for (const id of ids)
      if (hs.store.devices.has(`${ctx.caller.userId}\u0000${id}`))
        hs.store.commit({ k: 'device-del', userId: ctx.caller.userId, deviceId: id });
  };

  const device = (d: { deviceId: string; displayName?: string; lastSeenTs: number }): Record<string, unknown> => ({
    device_id: d.deviceId,
    display_name: d.displayName,
    last_seen_ip: '127.0.0.1',
    last_seen_ts: d.lastSeenTs,
  });

  return [
    {
      method: 'GET',
      pattern: 'client:/login',
      auth: 'none',
      handler: () => ({ body: { flows: [{ type: 'm.login.password' }] } }),
    },
    { method: 'POST', pattern: 'client:/login', auth: 'none', handler: login },
    {
      method: 'POST',
      pattern: 'client:/logout',
      auth: 'required',
      handler: (ctx) => {
        hs.store.commit({ k: 'device-del', userId: ctx.caller.userId, deviceId: ctx.caller.deviceId });
        return { body: {} };
      },
    },
    {
      method: 'POST',
      pattern: 'client:/logout/all',
      auth: 'required',
      handler: (ctx) => {
        for (const d of [...hs.store.devices.values()])
          if (d.userId === ctx.caller.userId)
            hs.store.commit({ k: 'device-del', userId: d.userId, deviceId: d.deviceId });
        return { body: {} };
      },
    },
    { method: 'POST', pattern: 'client:/register', auth: 'none', handler: register },
    {
      method: 'GET',
      pattern: 'client:/register/available',
      auth: 'none',
      handler: (ctx) => {
        const username = ctx.query.get('username');
        if (username === null) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing username');
        if (hs.store.users.has(userIdFor(hs, username)))
          throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
        return { body: { available: true } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/register/m.login.registration_token/validity',
      auth: 'none',
      handler: (ctx) => {
        const token = ctx.query.get('token');
        if (token === null) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing token');
        return { body: { valid: hs.config.registrationToken !== undefined && token === hs.config.registrationToken } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/account/whoami',
      auth: 'required',
      handler: (ctx) => ({ body: { user_id: ctx.caller.userId, device_id: ctx.caller.deviceId, is_guest: false } }),
    },
    {
      method: 'GET',
      pattern: 'client:/devices',
      auth: 'required',
      handler: (ctx) => ({
        body: { devices: [...hs.store.devices.values()].filter((d) => d.userId === ctx.caller.userId).map(device) },
      }),
    },
    {
      method: 'GET',
      pattern: 'client:/devices/:deviceId',
      auth: 'required',
      handler: (ctx) => {
        const d = hs.store.devices.get(`${ctx.caller.userId}\u0000${ctx.params.deviceId}`);
        if (!d) throw notFound('Device not found');
        return { body: device(d) };
      },
    },
    {
      method: 'PUT',
      pattern: 'client:/devices/:deviceId',
      auth: 'required',
      handler: (ctx) => {
        const d = hs.store.devices.get(`${ctx.caller.userId}\u0000${ctx.params.deviceId}`);
        if (!d) throw notFound('Device not found');
        const name = optString(asObject(ctx.body), 'display_name');
        hs.store.commit({
          k: 'device',
          userId: d.userId,
          deviceId: d.deviceId,
          displayName: name ?? d.displayName,
          ts: d.lastSeenTs,
        });
        return { body: {} };
      },
    },
    {
      method: 'DELETE',
      pattern: 'client:/devices/:deviceId',
      auth: 'required',
      handler: (ctx) => {
        if (!hs.store.devices.has(`${ctx.caller.userId}\u0000${ctx.params.deviceId}`))
          throw notFound('Device not found');
        deleteDevices(ctx, [ctx.params.deviceId as string]);
        return { body: {} };
      },
    },
    {
      method: 'POST',
      pattern: 'client:/delete_devices',
      auth: 'required',
      handler: (ctx) => {
        const ids = asObject(ctx.body).devices;
        if (!Array.isArray(ids) || ids.some((d) => typeof d !== 'string'))
          throw new MatrixError(400, 'M_BAD_JSON', "'devices' must be a list of device ids");
        deleteDevices(ctx, ids as string[]);
        return { body: {} };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/profile/:userId',
      auth: 'optional',
      handler: (ctx) => ({ body: profile(ctx.params.userId as string) }),
    },
    {
      method: 'GET',
      pattern: 'client:/profile/:userId/:field',
      auth: 'optional',
      handler: (ctx) => {
        const p = profile(ctx.params.userId as string);
        const field = ctx.params.field as string;
        if (p[field] === undefined) throw notFound('Profile field not set');
        return { body: { [field]: p[field] } };
      },
    },
    {
      method: 'PUT',
      pattern: 'client:/profile/:userId/:field',
      auth: 'required',
      handler: (ctx) => {
        ensureSelf(ctx);
        const field = ctx.params.field;
        if (field !== 'displayname' && field !== 'avatar_url')
          throw invalidParam(`Unsupported profile field ${String(field)}`);
        const value = asObject(ctx.body)[field];
        if (value !== undefined && value !== null && typeof value !== 'string')
          throw badJson(`'${field}' must be a string`);
        if (field === 'avatar_url' && typeof value === 'string' && value !== '' && !value.startsWith('mxc://'))
          throw invalidParam('avatar_url must be an mxc:// URI');
        hs.store.commit({ k: 'profile', userId: ctx.caller.userId, [field]: value === '' ? null : (value ?? null) });
        propagateProfile(hs, ctx.caller.userId);
        return { body: {} };
      },
    },
  ];
}
