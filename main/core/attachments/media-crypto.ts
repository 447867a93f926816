// Encrypted attachments (Matrix spec, "Sending encrypted attachments"): AES-256-CTR with the event's JWK key and
// IV, the ciphertext's SHA-256 checked against the event's hash before anything is decrypted. Node's WebCrypto,
// in memory only. encryptAttachment is the sender's side (tests, and a bot that sends files).
import { webcrypto } from 'node:crypto';
import { AttachmentError } from './attachment-errors.ts';
import type { EncryptedFile } from './attachment-event.ts';

const subtle = webcrypto.subtle;

/** Unpadded base64 (the spec's encoding for the IV and hashes) of bytes. */
export function unpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Bytes of base64 written either way: padded or not, standard or URL-safe. */
function fromBase64(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function sameBase64(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  return norm(a) === norm(b);
}

function refuse(name: string, why: string): AttachmentError {
  return new AttachmentError('HashMismatch', `${name} could not be decrypted: ${why}, so it was not read.`);
}

/** The plaintext of an encrypted attachment; AttachmentError (HashMismatch) when its hash or key does not hold. */
export async function decryptAttachment(cipher: Uint8Array, file: EncryptedFile, name: string): Promise<Uint8Array> {
  const expected = file.hashes.sha256;
  if (!expected) throw refuse(name, 'its message gives no SHA-256 hash to check it against');
  if (file.key.alg !== 'A256CTR' || file.key.kty !== 'oct')
    throw refuse(name, `its key is not an AES-256-CTR key (${file.key.alg})`);
  if (file.v !== 'v2') throw refuse(name, `it uses encryption version "${file.v || 'none'}", not v2`);
  const iv = fromBase64(file.iv);
  if (iv.length !== 16) throw refuse(name, 'its IV is not 16 bytes');
  const digest = new Uint8Array(await subtle.digest('SHA-256', cipher));
  if (!sameBase64(unpaddedBase64(digest), expected))
    throw new AttachmentError(
      'HashMismatch',
      `${name} does not match the hash in its message: it was changed or damaged on the way, so it was not read. ` +
        'Send it again.',
    );
  let key: webcrypto.CryptoKey;
  try {
    key = await subtle.importKey(
      'jwk',
      { kty: 'oct', alg: 'A256CTR', k: file.key.k, ext: true },
      { name: 'AES-CTR' },
      false,
      ['decrypt'],
    );
  } catch (err) {
    throw new AttachmentError('HashMismatch', `${name} could not be decrypted: its key is not valid.`, { cause: err });
  }
  return new Uint8Array(await subtle.decrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, cipher));
}

/** Encrypts bytes for an `m.image`/`m.file` event: the ciphertext to upload and the `file` (without its url). */
export async function encryptAttachment(plain: Uint8Array): Promise<{ cipher: Uint8Array; file: EncryptedFile }> {
  const key = await subtle.generateKey({ name: 'AES-CTR', length: 256 }, true, ['encrypt', 'decrypt']);
  // The spec's IV: 8 random bytes, then a 64-bit counter starting at zero.
  const iv = new Uint8Array(16);
  webcrypto.getRandomValues(iv.subarray(0, 8));
  const cipher = new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, plain));
  const jwk = await subtle.exportKey('jwk', key);
  const digest = new Uint8Array(await subtle.digest('SHA-256', cipher));
  return {
    cipher,
    file: {
      url: '',
      key: { kty: 'oct', alg: 'A256CTR', k: jwk.k!, ext: true, key_ops: ['encrypt', 'decrypt'] },
      iv: unpaddedBase64(iv),
      hashes: { sha256: unpaddedBase64(digest) },
      v: 'v2',
    },
  };
}
