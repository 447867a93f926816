// Signatures on Matrix JSON (spec "Signing JSON"): ed25519 over the canonical JSON of the object without its
// `signatures` and `unsigned`. The app checks them on the owner's devices before deciding which to sign.
import { createPublicKey, verify } from 'node:crypto';
import anotherJson from 'another-json';

export interface SignedJson {
  keys?: Record<string, string>;
  signatures?: Record<string, Record<string, string>>;
  [field: string]: unknown;
}

/** The signed part of a key object, as canonical JSON: what a signature covers. */
export function signedPart(obj: SignedJson): string {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return anotherJson.stringify(rest);
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Whether `obj` carries a valid ed25519 signature by `signer` under `keyId` for `publicKey` (unpadded base64). */
export function hasValidSignature(obj: SignedJson, signer: string, keyId: string, publicKey: string): boolean {
  const signature = obj.signatures?.[signer]?.[keyId];
  if (typeof signature !== 'string') return false;
  try {
    const raw = Buffer.from(publicKey, 'base64');
    if (raw.length !== 32) return false;
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(signedPart(obj)), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
