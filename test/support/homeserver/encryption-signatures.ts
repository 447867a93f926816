// Signatures on keys, checked as Synapse checks them (spec "Signing JSON", "Cross-signing"): canonical JSON,
// ed25519, the signer's right key, and the signed object equal to the stored one.
import { hasValidSignature, signedPart } from '../../../main/core/crypto/signed-json.ts';
import type { EncryptionState, Json } from './encryption-state.ts';

/** Merges signatures (user → key id → signature) from `from` into `into`. */
export function mergeSignatures(into: Json, from: unknown): void {
  if (typeof from !== 'object' || from === null) return;
  const sigs = (into.signatures ??= {}) as Record<string, Record<string, string>>;
  for (const [user, byKey] of Object.entries(from as Record<string, Record<string, string>>))
    sigs[user] = { ...sigs[user], ...byKey };
}

/** The first public key of a cross-signing key object ("keys": {"ed25519:<pub>": "<pub>"}). */
export const publicKeyOf = (key: Json | undefined): string | undefined =>
  Object.values((key?.keys ?? {}) as Record<string, string>)[0];

export interface Failure {
  status: number;
  errcode: string;
  error: string;
}
const fail = (errcode: string, error: string, status = 400): Failure => ({ status, errcode, error });
/** The uploaded object must be the stored one, signatures aside (Synapse: "Key does not match"). */
const sameKey = (stored: Json, uploaded: Json): boolean => signedPart(stored) === signedPart(uploaded);

/** The caller's own keys: devices signed by the self-signing key, or the master key signed by one of the caller's devices. */
export function selfSignature(st: EncryptionState, userId: string, keyId: string, signed: Json): Failure | undefined {
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
  if (!hasValidSignature(signed, userId, `ed25519:${ssk}`, ssk))
    return fail('M_INVALID_SIGNATURE', 'Invalid signature');
  mergeSignatures(device, { [userId]: { [`ed25519:${ssk}`]: (sigs as Record<string, string>)[`ed25519:${ssk}`] } });
  return undefined;
}

/** Another user's keys: only their master key, signed by the caller's user-signing key. */
export function otherSignature(
  st: EncryptionState,
  caller: string,
  userId: string,
  keyId: string,
  signed: Json,
): Failure | undefined {
  const usk = publicKeyOf(st.data.crossSigning[caller]?.user_signing);
  if (usk === undefined) return fail('M_MISSING_PARAM', 'No user-signing key is uploaded');
  const master = st.data.crossSigning[userId]?.master;
  if (!master) return fail('M_NOT_FOUND', 'No master key is uploaded for that user', 404);
  if (keyId !== publicKeyOf(master)) return fail('M_INVALID_PARAM', "Only another user's master key can be signed");
  if (!sameKey(master, signed)) return fail('M_INVALID_SIGNATURE', 'Key does not match');
  if (!hasValidSignature(signed, caller, `ed25519:${usk}`, usk))
    return fail('M_INVALID_SIGNATURE', 'Invalid signature');
  (st.data.otherSignatures[userId] ??= {})[caller] = {
    [`ed25519:${usk}`]: (signed.signatures as Record<string, Record<string, string>>)[caller]![`ed25519:${usk}`]!,
  };
  return undefined;
}
