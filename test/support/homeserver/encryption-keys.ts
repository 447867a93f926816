// Key distribution (spec "End-to-end encryption" → "Key management API"): /keys/upload, /keys/query,
// /keys/claim, /keys/changes, /keys/device_signing/upload (user-interactive auth as Synapse does it) and
// /keys/signatures/upload.
import { scryptSync, timingSafeEqual } from 'node:crypto';
import { hasValidSignature } from '../../../main/core/crypto/signed-json.ts';
import { otherSignature, publicKeyOf, selfSignature, type Failure } from './encryption-signatures.ts';
import { MatrixError, asObject, badJson, invalidParam, missingParam, optObject, optString } from './errors.ts';
import { parseStreamToken, randomId, type Hs } from './context.ts';
import type { EncryptionState, Json } from './encryption-state.ts';
import type { Ctx, Route } from './router.ts';

const dev = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;

// Same format as routes-auth.ts's hashPassword ("salt:scrypt(N=1024)"), so UIA m.login.password checks the account password.
function passwordMatches(password: string, stored: string | undefined): boolean {
  if (!stored) return false;
  const [salt, hash] = stored.split(':') as [string, string];
  return timingSafeEqual(scryptSync(password, Buffer.from(salt, 'hex'), 32, { N: 1024 }), Buffer.from(hash, 'hex'));
}

export function otkCounts(st: EncryptionState, userId: string, deviceId: string): Record<string, number> {
  const counts: Record<string, number> = { signed_curve25519: 0 };
  for (const keyId of Object.keys(st.data.oneTimeKeys[dev(userId, deviceId)] ?? {})) {
    const algo = keyId.split(':')[0] as string;
    counts[algo] = (counts[algo] ?? 0) + 1;
  }
  return counts;
}

export function unusedFallbackTypes(st: EncryptionState, userId: string, deviceId: string): string[] {
  return Object.entries(st.data.fallbackKeys[dev(userId, deviceId)] ?? {})
    .filter(([, k]) => !k.used)
    .map(([algo]) => algo);
}

export function keyRoutes(hs: Hs, st: EncryptionState): Route[] {
  const uiaSessions = new Set<string>();

  const upload = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const { userId, deviceId } = ctx.caller;
    const key = dev(userId, deviceId);
    const deviceKeys = optObject(body, 'device_keys');
    if (deviceKeys) {
      if (deviceKeys.user_id !== userId || deviceKeys.device_id !== deviceId)
        throw badJson('device_keys.user_id and device_id must be those of the access token');
      const before = st.data.deviceKeys[userId]?.[deviceId];
      if (JSON.stringify(before) !== JSON.stringify(deviceKeys)) {
        (st.data.deviceKeys[userId] ??= {})[deviceId] = deviceKeys;
        st.keysChanged(userId);
      }
    }
    for (const [keyId, value] of Object.entries(optObject(body, 'one_time_keys') ?? {})) {
      const mine = (st.data.oneTimeKeys[key] ??= {});
      if (mine[keyId] !== undefined && JSON.stringify(mine[keyId]) !== JSON.stringify(value)) {
        throw new MatrixError(
          400,
          'M_UNKNOWN',
          `One time key ${keyId} already exists. Old key: ${JSON.stringify(mine[keyId])}; new key: ${JSON.stringify(value)}`,
        );
      }
      mine[keyId] = value;
    }
    for (const [keyId, value] of Object.entries(
      optObject(body, 'fallback_keys') ?? optObject(body, 'org.matrix.msc2732.fallback_keys') ?? {},
    )) {
      const algo = keyId.split(':')[0] as string;
      const mine = (st.data.fallbackKeys[key] ??= {});
      if (mine[algo]?.keyId === keyId && JSON.stringify(mine[algo]?.key) === JSON.stringify(value)) continue;
      mine[algo] = { keyId, key: value, used: false };
    }
    st.save();
    return { body: { one_time_key_counts: otkCounts(st, userId, deviceId) } };
  };

  /**
   * A user's cross-signing keys as `requester` may see them: the user-signing key only for its owner (spec), and on
   * the master key only the signatures of the key's owner and of the requester (Synapse shows a user's signatures
   * of other people's master keys to that user alone).
   */
  const crossSigningFor = (userId: string, requester: string): Record<string, Json> => {
    const cs = st.data.crossSigning[userId] ?? {};
    const out: Record<string, Json> = {};
    if (cs.master) {
      const mine = st.data.otherSignatures[userId]?.[requester];
      out.master = mine
        ? { ...cs.master, signatures: { ...(cs.master.signatures as Json), [requester]: mine } }
        : cs.master;
    }
    if (cs.self_signing) out.self_signing = cs.self_signing;
    if (cs.user_signing && userId === requester) out.user_signing = cs.user_signing;
    return out;
  };

  const query = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const wanted = optObject(body, 'device_keys');
    if (!wanted) throw missingParam("Missing 'device_keys'");
    const device_keys: Record<string, Record<string, Json>> = {};
    const master_keys: Record<string, Json> = {};
    const self_signing_keys: Record<string, Json> = {};
    const user_signing_keys: Record<string, Json> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      if (!Array.isArray(devices)) throw badJson('device_keys values must be arrays of device ids');
      const all = st.data.deviceKeys[userId] ?? {};
      const out: Record<string, Json> = {};
      for (const [deviceId, keys] of Object.entries(all)) {
        if ((devices.length > 0 && !devices.includes(deviceId)) || !st.deviceExists(userId, deviceId)) continue;
        const name = hs.store.devices.get(dev(userId, deviceId))?.displayName;
        out[deviceId] = { ...keys, unsigned: name === undefined ? {} : { device_display_name: name } };
      }
      device_keys[userId] = out;
      const cs = crossSigningFor(userId, ctx.caller.userId);
      if (cs.master) master_keys[userId] = cs.master;
      if (cs.self_signing) self_signing_keys[userId] = cs.self_signing;
      if (cs.user_signing) user_signing_keys[userId] = cs.user_signing;
    }
    return { body: { device_keys, master_keys, self_signing_keys, user_signing_keys, failures: {} } };
  };

  const claim = (ctx: Ctx): { body: unknown } => {
    const wanted = optObject(asObject(ctx.body), 'one_time_keys');
    if (!wanted) throw missingParam("Missing 'one_time_keys'");
    const one_time_keys: Record<string, Record<string, Record<string, unknown>>> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      for (const [deviceId, algorithm] of Object.entries(devices as Record<string, unknown>)) {
        if (typeof algorithm !== 'string') throw badJson('Algorithms must be strings');
        const mine = st.data.oneTimeKeys[dev(userId, deviceId)] ?? {};
        const keyId = Object.keys(mine).find((k) => k.startsWith(`${algorithm}:`));
        let got: Record<string, unknown> | undefined;
        if (keyId !== undefined) {
          got = { [keyId]: mine[keyId] };
          delete mine[keyId];
        } else {
          // No one-time key left: the fallback key answers, and is reported used (spec: fallback keys).
          const fb = st.data.fallbackKeys[dev(userId, deviceId)]?.[algorithm];
          if (fb) {
            got = { [fb.keyId]: fb.key };
            fb.used = true;
          }
        }
        if (got) (one_time_keys[userId] ??= {})[deviceId] = got;
      }
    }
    st.save();
    return { body: { one_time_keys, failures: {} } };
  };

  const uia401 = (session: string): MatrixError =>
    new MatrixError(401, 'M_UNAUTHORIZED', 'Additional authentication required', {
      flows: [{ stages: ['m.login.password'] }],
      params: {},
      session,
      completed: [],
    });

  /** Synapse's rule (spec v1.11): the first upload needs no auth; replacing an existing master key does. */
  const checkUia = (ctx: Ctx, body: Json, replacing: boolean): void => {
    if (!replacing) return;
    const auth = optObject(body, 'auth');
    if (!auth) {
      const session = randomId(18);
      uiaSessions.add(session);
      throw uia401(session);
    }
    // Like Synapse, auth without a session starts one and completes the stage in the same request.
    const session = optString(auth, 'session') ?? randomId(18);
    if (auth.session !== undefined && !uiaSessions.has(session))
      throw new MatrixError(400, 'M_UNKNOWN', `Unknown session ID: ${session}`);
    if (auth.type !== 'm.login.password')
      throw new MatrixError(401, 'M_UNKNOWN', `Auth type ${String(auth.type)} is not part of any flow`, {
        flows: [{ stages: ['m.login.password'] }],
        params: {},
        session,
        completed: [],
      });
    const identifier = optObject(auth, 'identifier');
    const user = String(identifier?.user ?? auth.user ?? '');
    const userOk = user === ctx.caller.userId || user === ctx.caller.userId.slice(1).split(':')[0];
    if (!userOk || !passwordMatches(String(auth.password ?? ''), hs.store.users.get(ctx.caller.userId)?.passwordHash)) {
      throw new MatrixError(401, 'M_FORBIDDEN', 'Invalid username or password', {
        flows: [{ stages: ['m.login.password'] }],
        params: {},
        session,
        completed: [],
      });
    }
    uiaSessions.delete(session);
  };

  const deviceSigningUpload = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const userId = ctx.caller.userId;
    const cs = (st.data.crossSigning[userId] ??= {});
    const master = optObject(body, 'master_key');
    const replacing = cs.master !== undefined && master !== undefined && publicKeyOf(cs.master) !== publicKeyOf(master);
    checkUia(ctx, body, replacing);
    const next = { ...cs };
    for (const [field, slot] of [
      ['master_key', 'master'],
      ['self_signing_key', 'self_signing'],
      ['user_signing_key', 'user_signing'],
    ] as const) {
      const k = optObject(body, field);
      if (!k) continue;
      if (k.user_id !== userId) throw invalidParam(`${field}.user_id must be ${userId}`);
      if (!Array.isArray(k.usage) || !k.usage.includes(slot))
        throw invalidParam(`${field}.usage must include "${slot}"`);
      if (publicKeyOf(k) === undefined) throw invalidParam(`${field}.keys must hold one ed25519 key`);
      next[slot] = k;
    }
    if (!next.master && (next.self_signing || next.user_signing))
      throw new MatrixError(400, 'M_MISSING_PARAM', 'No master key available');
    // As Synapse checks: the self-signing and user-signing keys uploaded now must be signed by the master key.
    const masterPub = publicKeyOf(next.master)!;
    for (const [field, slot] of [
      ['self_signing_key', 'self_signing'],
      ['user_signing_key', 'user_signing'],
    ] as const) {
      const k = optObject(body, field);
      if (k && !hasValidSignature(k, userId, `ed25519:${masterPub}`, masterPub))
        throw new MatrixError(400, 'M_INVALID_SIGNATURE', `Invalid signature on ${slot} key`);
    }
    if (master && publicKeyOf(master) !== publicKeyOf(cs.master)) delete st.data.otherSignatures[userId];
    st.data.crossSigning[userId] = next;
    st.keysChanged(userId);
    st.save();
    return { body: {} };
  };

  const signaturesUpload = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const caller = ctx.caller.userId;
    const failures: Record<string, Record<string, Failure>> = {};
    for (const [userId, byKey] of Object.entries(body)) {
      if (typeof byKey !== 'object' || byKey === null) throw badJson(`Signatures for ${userId} must be an object`);
      for (const [keyId, signed] of Object.entries(byKey as Record<string, Json>)) {
        if (typeof signed !== 'object' || signed === null) throw badJson(`The signed key ${keyId} must be an object`);
        const failure =
          userId === caller
            ? selfSignature(st, userId, keyId, signed)
            : otherSignature(st, caller, userId, keyId, signed);
        if (failure) (failures[userId] ??= {})[keyId] = failure;
        else st.keysChanged(userId);
      }
    }
    st.save();
    return { body: { failures } };
  };

  const changes = (ctx: Ctx): { body: unknown } => {
    const from = parseStreamToken(ctx.query.get('from'));
    const to = parseStreamToken(ctx.query.get('to'));
    if (from === undefined || to === undefined) throw missingParam("'from' and 'to' are required");
    if (Number.isNaN(from) || Number.isNaN(to)) throw invalidParam('Invalid stream token');
    return { body: st.deviceListChanges(ctx.caller.userId, from, to) };
  };

  const mustBeJson = (ctx: Ctx): void => {
    if (ctx.body === undefined) throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
  };

  return [
    { method: 'POST', pattern: 'client:/keys/upload', auth: 'required', handler: upload },
    {
      method: 'POST',
      pattern: 'client:/keys/query',
      auth: 'required',
      handler: (ctx) => (mustBeJson(ctx), query(ctx)),
    },
    {
      method: 'POST',
      pattern: 'client:/keys/claim',
      auth: 'required',
      handler: (ctx) => (mustBeJson(ctx), claim(ctx)),
    },
    { method: 'GET', pattern: 'client:/keys/changes', auth: 'required', handler: changes },
    { method: 'POST', pattern: 'client:/keys/device_signing/upload', auth: 'required', handler: deviceSigningUpload },
    { method: 'POST', pattern: 'client:/keys/signatures/upload', auth: 'required', handler: signaturesUpload },
  ];
}
