// Key distribution (spec "End-to-end encryption" → "Key management API"): /keys/upload, /keys/query,
// /keys/claim, /keys/changes, /keys/device_signing/upload (user-interactive auth as Synapse does it) and
// /keys/signatures/upload.
import { createPublicKey, scryptSync, timingSafeEqual, verify } from 'node:crypto';
import anotherJson from 'another-json';
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

/** Merges signatures (user → key id → signature) from `from` into `into`. */
function mergeSignatures(into: Json, from: unknown): void {
  if (typeof from !== 'object' || from === null) return;
  const sigs = (into.signatures ??= {}) as Record<string, Record<string, string>>;
  for (const [user, byKey] of Object.entries(from as Record<string, Record<string, string>>)) sigs[user] = { ...sigs[user], ...byKey };
}

/** The signed part of a key object (spec "Signing JSON"): without `signatures` and `unsigned`, as canonical JSON. */
const signedPart = (obj: Json): string => {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return anotherJson.stringify(rest) as string;
};

/** Whether `obj` carries a valid ed25519 signature by `signer` with the key `ed25519:<publicKey>` (unpadded base64). */
export function hasValidSignature(obj: Json, signer: string, keyId: string, publicKey: string): boolean {
  const sig = (obj.signatures as Record<string, Record<string, string>> | undefined)?.[signer]?.[keyId];
  if (typeof sig !== 'string') return false;
  try {
    const raw = Buffer.from(publicKey, 'base64');
    if (raw.length !== 32) return false;
    const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(signedPart(obj)), key, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

/** The first public key of a cross-signing key object ("keys": {"ed25519:<pub>": "<pub>"}). */
const publicKeyOf = (key: Json | undefined): string | undefined => Object.values((key?.keys ?? {}) as Record<string, string>)[0];

export function otkCounts(st: EncryptionState, userId: string, deviceId: string): Record<string, number> {
  const counts: Record<string, number> = { signed_curve25519: 0 };
  for (const keyId of Object.keys(st.data.oneTimeKeys[dev(userId, deviceId)] ?? {})) {
    const algo = keyId.split(':')[0] as string;
    counts[algo] = (counts[algo] ?? 0) + 1;
  }
  return counts;
}

export function unusedFallbackTypes(st: EncryptionState, userId: string, deviceId: string): string[] {
  return Object.entries(st.data.fallbackKeys[dev(userId, deviceId)] ?? {}).filter(([, k]) => !k.used).map(([algo]) => algo);
}

export function keyRoutes(hs: Hs, st: EncryptionState): Route[] {
  const uiaSessions = new Set<string>();

  const upload = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const { userId, deviceId } = ctx.caller;
    const key = dev(userId, deviceId);
    const deviceKeys = optObject(body, 'device_keys');
    if (deviceKeys) {
      if (deviceKeys.user_id !== userId || deviceKeys.device_id !== deviceId) throw badJson('device_keys.user_id and device_id must be those of the access token');
      const before = st.data.deviceKeys[userId]?.[deviceId];
      if (JSON.stringify(before) !== JSON.stringify(deviceKeys)) {
        (st.data.deviceKeys[userId] ??= {})[deviceId] = deviceKeys;
        st.keysChanged(userId);
      }
    }
    for (const [keyId, value] of Object.entries(optObject(body, 'one_time_keys') ?? {})) {
      const mine = (st.data.oneTimeKeys[key] ??= {});
      if (mine[keyId] !== undefined && JSON.stringify(mine[keyId]) !== JSON.stringify(value)) {
        throw new MatrixError(400, 'M_UNKNOWN', `One time key ${keyId} already exists. Old key: ${JSON.stringify(mine[keyId])}; new key: ${JSON.stringify(value)}`);
      }
      mine[keyId] = value;
    }
    for (const [keyId, value] of Object.entries(optObject(body, 'fallback_keys') ?? optObject(body, 'org.matrix.msc2732.fallback_keys') ?? {})) {
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
      out.master = mine ? { ...cs.master, signatures: { ...(cs.master.signatures as Json), [requester]: mine } } : cs.master;
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
        if (got) ((one_time_keys[userId] ??= {})[deviceId] = got);
      }
    }
    st.save();
    return { body: { one_time_keys, failures: {} } };
  };

  const uia401 = (session: string): MatrixError => new MatrixError(401, 'M_UNAUTHORIZED', 'Additional authentication required', {
    flows: [{ stages: ['m.login.password'] }], params: {}, session, completed: [],
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
    if (auth.session !== undefined && !uiaSessions.has(session)) throw new MatrixError(400, 'M_UNKNOWN', `Unknown session ID: ${session}`);
    if (auth.type !== 'm.login.password') throw new MatrixError(401, 'M_UNKNOWN', `Auth type ${String(auth.type)} is not part of any flow`, { flows: [{ stages: ['m.login.password'] }], params: {}, session, completed: [] });
    const identifier = optObject(auth, 'identifier');
    const user = String(identifier?.user ?? auth.user ?? '');
    const userOk = user === ctx.caller.userId || user === ctx.caller.userId.slice(1).split(':')[0];
    if (!userOk || !passwordMatches(String(auth.password ?? ''), hs.store.users.get(ctx.caller.userId)?.passwordHash)) {
      throw new MatrixError(401, 'M_FORBIDDEN', 'Invalid username or password', { flows: [{ stages: ['m.login.password'] }], params: {}, session, completed: [] });
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
    for (const [field, slot] of [['master_key', 'master'], ['self_signing_key', 'self_signing'], ['user_signing_key', 'user_signing']] as const) {
      const k = optObject(body, field);
      if (!k) continue;
      if (k.user_id !== userId) throw invalidParam(`${field}.user_id must be ${userId}`);
      if (!Array.isArray(k.usage) || !k.usage.includes(slot)) throw invalidParam(`${field}.usage must include "${slot}"`);
      if (publicKeyOf(k) === undefined) throw invalidParam(`${field}.keys must hold one ed25519 key`);
      next[slot] = k;
    }
    if (!next.master && (next.self_signing || next.user_signing)) throw new MatrixError(400, 'M_INVALID_PARAM', 'A master key must be uploaded first');
    // As Synapse checks: the self-signing and user-signing keys uploaded now must be signed by the master key.
    const masterPub = publicKeyOf(next.master)!;
    for (const [field, slot] of [['self_signing_key', 'self_signing'], ['user_signing_key', 'user_signing']] as const) {
      const k = optObject(body, field);
      if (k && !hasValidSignature(k, userId, `ed25519:${masterPub}`, masterPub)) throw new MatrixError(400, 'M_INVALID_SIGNATURE', `Invalid signature on ${slot} key`);
    }
    if (master && publicKeyOf(master) !== publicKeyOf(cs.master)) delete st.data.otherSignatures[userId];
    st.data.crossSigning[userId] = next;
    st.keysChanged(userId);
    st.save();
    return { body: {} };
  };

  type Failure = { status: number; errcode: string; error: string };
  const fail = (errcode: string, error: string, status = 400): Failure => ({ status, errcode, error });
  /** The uploaded object must be the stored one, signatures aside (Synapse: "Key does not match"). */
  const sameKey = (stored: Json, uploaded: Json): boolean => signedPart(stored) === signedPart(uploaded);

  /** The caller's own keys: devices signed by the self-signing key, or the master key signed by one of the caller's devices. */
  const selfSignature = (userId: string, keyId: string, signed: Json): Failure | undefined => {
    const cs = st.data.crossSigning[userId] ?? {};
    const sigs = (signed.signatures as Record<string, Record<string, string>> | undefined)?.[userId];
    if (!sigs || Object.keys(sigs).length === 0) return fail('M_MISSING_PARAM', 'Missing signature');
    if (cs.master && keyId === publicKeyOf(cs.master)) {
      if (!sameKey(cs.master, signed)) return fail('M_INVALID_SIGNATURE', 'Key does not match');
      for (const sigKeyId of Object.keys(sigs)) {
        const deviceId = sigKeyId.slice('ed25519:'.length);
        const device = st.data.deviceKeys[userId]?.[deviceId];
        const pub = (device?.keys as Record<string, string> | undefined)?.[sigKeyId];
        if (pub === undefined || !st.deviceExists(userId, deviceId)) return fail('M_NOT_FOUND', 'Unknown device');
        if (!hasValidSignature(signed, userId, sigKeyId, pub)) return fail('M_INVALID_SIGNATURE', 'Invalid signature');
      }
      mergeSignatures(cs.master, { [userId]: sigs });
      return undefined;
    }
    const device = st.data.deviceKeys[userId]?.[keyId];
    if (!device || !st.deviceExists(userId, keyId)) return fail('M_NOT_FOUND', 'Unknown device', 404);
    const ssk = publicKeyOf(cs.self_signing);
    if (ssk === undefined) return fail('M_MISSING_PARAM', 'No self-signing key is uploaded');
    if (!sameKey(device, signed)) return fail('M_INVALID_SIGNATURE', 'Key does not match');
    if (!hasValidSignature(signed, userId, `ed25519:${ssk}`, ssk)) return fail('M_INVALID_SIGNATURE', 'Invalid signature');
    mergeSignatures(device, { [userId]: { [`ed25519:${ssk}`]: (sigs as Record<string, string>)[`ed25519:${ssk}`] } });
    return undefined;
  };

  /** Another user's keys: only their master key, signed by the caller's user-signing key. */
  const otherSignature = (caller: string, userId: string, keyId: string, signed: Json): Failure | undefined => {
    const usk = publicKeyOf(st.data.crossSigning[caller]?.user_signing);
    if (usk === undefined) return fail('M_MISSING_PARAM', 'No user-signing key is uploaded');
    const master = st.data.crossSigning[userId]?.master;
    if (!master) return fail('M_NOT_FOUND', 'No master key is uploaded for that user', 404);
    if (keyId !== publicKeyOf(master)) return fail('M_INVALID_PARAM', "Only another user's master key can be signed");
    if (!sameKey(master, signed)) return fail('M_INVALID_SIGNATURE', 'Key does not match');
    if (!hasValidSignature(signed, caller, `ed25519:${usk}`, usk)) return fail('M_INVALID_SIGNATURE', 'Invalid signature');
    ((st.data.otherSignatures[userId] ??= {})[caller] = { [`ed25519:${usk}`]: (signed.signatures as Record<string, Record<string, string>>)[caller]![`ed25519:${usk}`]! });
    return undefined;
  };

  const signaturesUpload = (ctx: Ctx): { body: unknown } => {
    const body = asObject(ctx.body);
    const caller = ctx.caller.userId;
    const failures: Record<string, Record<string, Failure>> = {};
    for (const [userId, byKey] of Object.entries(body)) {
      if (typeof byKey !== 'object' || byKey === null) throw badJson(`Signatures for ${userId} must be an object`);
      for (const [keyId, signed] of Object.entries(byKey as Record<string, Json>)) {
        if (typeof signed !== 'object' || signed === null) throw badJson(`The signed key ${keyId} must be an object`);
        const failure = userId === caller ? selfSignature(userId, keyId, signed) : otherSignature(caller, userId, keyId, signed);
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
    { method: 'POST', pattern: 'client:/keys/query', auth: 'required', handler: (ctx) => (mustBeJson(ctx), query(ctx)) },
    { method: 'POST', pattern: 'client:/keys/claim', auth: 'required', handler: (ctx) => (mustBeJson(ctx), claim(ctx)) },
    { method: 'GET', pattern: 'client:/keys/changes', auth: 'required', handler: changes },
    { method: 'POST', pattern: 'client:/keys/device_signing/upload', auth: 'required', handler: deviceSigningUpload },
    { method: 'POST', pattern: 'client:/keys/signatures/upload', auth: 'required', handler: signaturesUpload },
  ];
}
