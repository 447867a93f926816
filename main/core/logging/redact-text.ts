// Redaction for text logs that are not ours to structure (the homeserver's own output): known secret values,
// and the values of secret-looking keys in query strings, JSON, TOML and log fields, as the app log redacts
// the keys in REDACT_PATHS. A line at a time, so a secret is never split across two writes.
import { StringDecoder } from 'node:string_decoder';

const CENSOR = '[redacted]';

/** Key names whose values never reach a log (snake_case and camelCase, as servers and clients write them). */
const SECRET_KEYS = [
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'registration_token',
  'registrationToken',
  'password',
  'api_key',
  'apiKey',
  'token',
  'macaroon_secret_key',
  'recovery_key',
  'recoveryKey',
];

// key=value (query strings, log fields), key: value, "key": "value", key = "value" (TOML), and Rust's
// key=Some("value"). The key must be a whole name: a longer one that merely contains it is left alone.
const KEYED = new RegExp(
  `(?<![A-Za-z0-9_])("?(?:${SECRET_KEYS.join('|')})"?\\s*[=:]\\s*(?:Some\\()?)("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s&,;}\\]"']+)`,
  'g',
);
const AUTH_HEADER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
// Matrix access tokens as Synapse and Conduit mint them, wherever they appear.
const MATRIX_TOKEN = /\bsy[td]_[A-Za-z0-9_]{8,}\b/g;

export function redactText(line: string, knownSecrets: readonly (string | undefined)[] = []): string {
  let out = line;
  for (const secret of knownSecrets) {
    // Short values would blank out ordinary words; every secret the app makes is far longer.
    if (secret && secret.length >= 8) out = out.split(secret).join(CENSOR);
  }
  out = out.replace(KEYED, (_all, key: string, value: string) => {
    const quote = value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : '';
    return `${key}${quote}${CENSOR}${quote}`;
  });
  return out.replace(AUTH_HEADER, (_all, scheme: string) => `${scheme} ${CENSOR}`).replace(MATRIX_TOKEN, CENSOR);
}

/** Buffers chunks into whole lines, redacts each, and hands them on; flush() passes a last partial line. */
export class RedactingLineBuffer {
  #pending = '';
  // A chunk may end inside a multi-byte character.
  readonly #decoder = new StringDecoder('utf8');

  constructor(
    private readonly write: (text: string) => void,
    private readonly secrets: () => readonly (string | undefined)[],
    /** A runaway line without a newline is passed on (redacted) past this size. */
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    const end = this.#pending.lastIndexOf('\n');
    if (end >= 0) {
      const lines = this.#pending.slice(0, end + 1);
      this.#pending = this.#pending.slice(end + 1);
      this.write(redactText(lines, this.secrets()));
    }
    if (this.#pending.length > this.maxLine) this.#pass('');
  }

  /** The end of the output: passes what is left. */
  flush(): void {
    this.#pass(this.#decoder.end());
  }

  #pass(tail: string): void {
    const rest = this.#pending + tail;
    if (rest === '') return;
    this.#pending = '';
    this.write(redactText(rest, this.secrets()));
  }
}
