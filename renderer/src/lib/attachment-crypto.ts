// Encrypted attachments in the browser (Matrix spec, "Sending encrypted attachments"): AES-256-CTR with a fresh key
// and IV, the ciphertext's SHA-256 as unpadded base64, all with the page's WebCrypto. The same scheme the bots read
// (main/core/attachments/media-crypto.ts); the renderer cannot import core, so the browser side lives here.

export interface EncryptedFile {
  url: string;
  key: { kty: 'oct'; alg: 'A256CTR'; k: string; ext: true; key_ops: string[] };
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/=+$/, '');
}

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The ciphertext to upload and the `file` to put in the event (its `url` set once uploaded). */
export async function encryptFile(
  plain: ArrayBuffer,
): Promise<{ cipher: ArrayBuffer; file: Omit<EncryptedFile, 'url'> }> {
  const key = await crypto.subtle.generateKey({ name: 'AES-CTR', length: 256 }, true, ['encrypt', 'decrypt']);
  // 8 random bytes, then a 64-bit counter starting at zero.
  const iv = new Uint8Array(16);
  crypto.getRandomValues(iv.subarray(0, 8));
  const cipher = await crypto.subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, plain);
  const jwk = await crypto.subtle.exportKey('jwk', key);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', cipher));
  return {
    cipher,
    file: {
      key: { kty: 'oct', alg: 'A256CTR', k: jwk.k!, ext: true, key_ops: ['encrypt', 'decrypt'] },
      iv: toBase64(iv),
      hashes: { sha256: toBase64(hash) },
      v: 'v2',
    },
  };
}

/** The plaintext of a downloaded encrypted attachment; throws when its hash does not match. */
export async function decryptFile(
  cipher: ArrayBuffer,
  file: { key: { k: string }; iv: string; hashes: Record<string, string> },
): Promise<ArrayBuffer> {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', cipher));
  const want = (file.hashes.sha256 ?? '').replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (toBase64(hash) !== want) throw new Error('The file does not match its hash: it was changed on the way.');
  const key = await crypto.subtle.importKey(
    'jwk',
    { kty: 'oct', alg: 'A256CTR', k: file.key.k, ext: true },
    { name: 'AES-CTR' },
    false,
    ['decrypt'],
  );
  return crypto.subtle.decrypt({ name: 'AES-CTR', counter: fromBase64(file.iv), length: 64 }, key, cipher);
}
