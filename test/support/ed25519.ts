// Real ed25519 keys for tests that upload signed JSON (spec "Signing JSON"): the test homeserver checks signatures.
import { generateKeyPairSync, sign } from 'node:crypto';
import anotherJson from 'another-json';

type Body = Record<string, unknown>;
const unpadded = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

export interface EdKey {
  /** The public key, unpadded base64 (as Matrix writes it). */
  pub: string;
  /** `obj` with this key's signature added under `userId` → `keyId` (default `ed25519:<pub>`). */
  sign<T extends Body>(
    obj: T,
    userId: string,
    keyId?: string,
  ): T & { signatures: Record<string, Record<string, string>> };
}

export function edKey(): EdKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = unpadded(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  return {
    pub,
    sign(obj, userId, keyId = `ed25519:${pub}`) {
      const {
        signatures,
        unsigned: _u,
        ...rest
      } = obj as Body & { signatures?: Record<string, Record<string, string>> };
      const sig = unpadded(sign(null, Buffer.from(anotherJson.stringify(rest)), privateKey));
      return { ...obj, signatures: { ...signatures, [userId]: { ...signatures?.[userId], [keyId]: sig } } };
    },
  };
}
