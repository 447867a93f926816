// Server-side room key backup (spec "Server-side key backups"): versions and the keys stored in them,
// with the spec's rule for which of two copies of a session key is kept.
import { MatrixError, asObject, badJson, missingParam, notFound, optObject, reqString } from './errors.ts';
import type { BackupVersion, EncryptionState, Json } from './encryption-state.ts';
import type { Ctx, Route } from './router.ts';

/** Spec: keep the existing key if it is verified and the new one is not, else the lower first_message_index, else the lower forwarded_count. */
export function betterKey(existing: Json | undefined, incoming: Json): boolean {
  if (!existing) return true;
  const ev = existing.is_verified === true;
  const iv = incoming.is_verified === true;
  if (ev !== iv) return iv;
  const ei = Number(existing.first_message_index);
  const ii = Number(incoming.first_message_index);
  if (ei !== ii) return ii < ei;
  return Number(incoming.forwarded_count) < Number(existing.forwarded_count);
}

function checkKeyData(k: unknown): Json {
  const o = asObject(k);
  if (
    typeof o.first_message_index !== 'number' ||
    typeof o.forwarded_count !== 'number' ||
    typeof o.is_verified !== 'boolean' ||
    typeof o.session_data !== 'object' ||
    o.session_data === null
  ) {
    throw badJson('KeyBackupData needs first_message_index, forwarded_count, is_verified and session_data');
  }
  return o;
}

const count = (b: BackupVersion): number => Object.values(b.rooms).reduce((n, r) => n + Object.keys(r).length, 0);

export function backupRoutes(st: EncryptionState): Route[] {
  const list = (userId: string): BackupVersion[] => (st.data.backups[userId] ??= []);
  const current = (userId: string): BackupVersion | undefined =>
    list(userId)
      .filter((b) => !b.deleted)
      .at(-1);
  const versionInfo = (b: BackupVersion): Json => ({
    algorithm: b.algorithm,
    auth_data: b.authData,
    version: b.version,
    etag: String(b.etag),
    count: count(b),
  });

  const byVersion = (userId: string, version: string | undefined): BackupVersion => {
    const b = version === undefined ? current(userId) : list(userId).find((x) => x.version === version && !x.deleted);
    if (!b) throw notFound(version === undefined ? 'No current backup version' : `Unknown backup version ${version}`);
    return b;
  };

  /** Writes go to the current version only (spec: M_WRONG_ROOM_KEYS_VERSION). */
  const writable = (ctx: Ctx): BackupVersion => {
    const version = ctx.query.get('version');
    if (version === null) throw missingParam("Missing 'version'");
    const cur = current(ctx.caller.userId);
    if (!cur || cur.version !== version) {
      throw new MatrixError(
        403,
        'M_WRONG_ROOM_KEYS_VERSION',
        'Wrong room_keys version',
        cur ? { current_version: cur.version } : {},
      );
    }
    return cur;
  };

  const readable = (ctx: Ctx): BackupVersion => {
    const version = ctx.query.get('version');
    if (version === null) throw missingParam("Missing 'version'");
    return byVersion(ctx.caller.userId, version);
  };

  const putKeys = (ctx: Ctx): { body: unknown } => {
    const b = writable(ctx);
    const { roomId, sessionId } = ctx.params;
    let rooms: Record<string, Record<string, unknown>>;
    if (roomId !== undefined && sessionId !== undefined) rooms = { [roomId]: { [sessionId]: ctx.body } };
    else if (roomId !== undefined) rooms = { [roomId]: optObject(asObject(ctx.body), 'sessions') ?? {} };
    else
      rooms = Object.fromEntries(
        Object.entries(optObject(asObject(ctx.body), 'rooms') ?? {}).map(([r, v]) => [
          r,
          optObject(asObject(v), 'sessions') ?? {},
        ]),
      );
    for (const [r, sessions] of Object.entries(rooms)) {
      for (const [s, data] of Object.entries(sessions)) {
        const incoming = checkKeyData(data);
        const room = (b.rooms[r] ??= {});
        if (betterKey(room[s], incoming)) room[s] = incoming;
      }
    }
    b.etag += 1;
    st.save();
    return { body: { etag: String(b.etag), count: count(b) } };
  };

  const getKeys = (ctx: Ctx): { body: unknown } => {
    const b = readable(ctx);
    const { roomId, sessionId } = ctx.params;
    if (roomId === undefined)
      return { body: { rooms: Object.fromEntries(Object.entries(b.rooms).map(([r, s]) => [r, { sessions: s }])) } };
    if (sessionId === undefined) return { body: { sessions: b.rooms[roomId] ?? {} } };
    const k = b.rooms[roomId]?.[sessionId];
    if (!k) throw notFound('No room_keys found');
    return { body: k };
  };

  const deleteKeys = (ctx: Ctx): { body: unknown } => {
    const b = writable(ctx);
    const { roomId, sessionId } = ctx.params;
    if (roomId === undefined) b.rooms = {};
    else if (sessionId === undefined) delete b.rooms[roomId];
    else delete b.rooms[roomId]?.[sessionId];
    b.etag += 1;
    st.save();
    return { body: { etag: String(b.etag), count: count(b) } };
  };

  return [
    {
      method: 'POST',
      pattern: 'client:/room_keys/version',
      auth: 'required',
      handler: (ctx) => {
        const body = asObject(ctx.body);
        const algorithm = reqString(body, 'algorithm');
        const authData = optObject(body, 'auth_data');
        if (!authData) throw missingParam("Missing 'auth_data'");
        const versions = list(ctx.caller.userId);
        const version = String(versions.length + 1);
        versions.push({ version, algorithm, authData, etag: 0, deleted: false, rooms: {} });
        st.save();
        return { body: { version } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/room_keys/version/:version?',
      auth: 'required',
      handler: (ctx) => ({ body: versionInfo(byVersion(ctx.caller.userId, ctx.params.version)) }),
    },
    {
      method: 'PUT',
      pattern: 'client:/room_keys/version/:version',
      auth: 'required',
      handler: (ctx) => {
        const b = byVersion(ctx.caller.userId, ctx.params.version);
        const body = asObject(ctx.body);
        if (body.version !== undefined && body.version !== b.version)
          throw new MatrixError(400, 'M_INVALID_PARAM', 'Version in body does not match');
        if (reqString(body, 'algorithm') !== b.algorithm)
          throw new MatrixError(400, 'M_INVALID_PARAM', 'Algorithm does not match');
        const authData = optObject(body, 'auth_data');
        if (!authData) throw missingParam("Missing 'auth_data'");
        b.authData = authData;
        st.save();
        return { body: {} };
      },
    },
    {
      method: 'DELETE',
      pattern: 'client:/room_keys/version/:version',
      auth: 'required',
      handler: (ctx) => {
        byVersion(ctx.caller.userId, ctx.params.version).deleted = true;
        st.save();
        return { body: {} };
      },
    },
    { method: 'PUT', pattern: 'client:/room_keys/keys/:roomId?/:sessionId?', auth: 'required', handler: putKeys },
    { method: 'GET', pattern: 'client:/room_keys/keys/:roomId?/:sessionId?', auth: 'required', handler: getKeys },
    { method: 'DELETE', pattern: 'client:/room_keys/keys/:roomId?/:sessionId?', auth: 'required', handler: deleteKeys },
  ];
}
