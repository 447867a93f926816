// The pairing code `agent-room peer pair` prints and `agent-room peer add` reads: `arp1.` and the base64url of a
// small JSON object holding where this machine answers (u), a one-time secret (s), the SHA-256 of its certificate (f)
// and its name (n). Whoever has the code can pair once, until it expires: the secret is 128 random bits, and only its
// hash is kept. The fingerprint lets the other side refuse any other certificate before it sends the secret.

export const PAIRING_CODE_PREFIX = 'arp1.';

export interface PairingCode {
  /** The peer listener's base URL, up to and including /v1. */
  url: string;
  secret: string;
  /** SHA-256 of the listener's certificate, 64 hex digits. */
  fingerprint: string;
  /** The name of the machine that made the code. */
  name: string;
}

export class PairingCodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PairingCodeError';
  }
}

export function encodePairingCode(code: PairingCode): string {
  const fp = Buffer.from(code.fingerprint, 'hex').toString('base64url');
  const json = JSON.stringify({ u: code.url, s: code.secret, f: fp, n: code.name });
  return `${PAIRING_CODE_PREFIX}${Buffer.from(json, 'utf8').toString('base64url')}`;
}

/** Reads a code; whatever is not one throws a PairingCodeError that says what to paste instead. */
export function decodePairingCode(text: string): PairingCode {
  const trimmed = text.trim();
  const bad = (why: string) =>
    new PairingCodeError(
      `This is not a pairing code (${why}). Copy the whole code that \`agent-room peer pair\` printed on the other machine: it starts with ${PAIRING_CODE_PREFIX}`,
    );
  if (!trimmed.startsWith(PAIRING_CODE_PREFIX)) throw bad(`it does not start with ${PAIRING_CODE_PREFIX}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(trimmed.slice(PAIRING_CODE_PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw bad('it is cut short or changed');
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const { u, s, f, n } = o;
  if (typeof u !== 'string' || typeof s !== 'string' || typeof f !== 'string' || typeof n !== 'string')
    throw bad('a part is missing');
  const fingerprint = Buffer.from(f, 'base64url');
  if (fingerprint.length !== 32) throw bad('its certificate fingerprint is not a SHA-256');
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw bad('its address is not a URL');
  }
  if (url.protocol !== 'https:') throw bad('its address is not https');
  if (s.length < 16) throw bad('its secret is too short');
  return { url: u, secret: s, fingerprint: fingerprint.toString('hex'), name: n };
}
