// The pairing codes this machine handed out and not yet seen used: only each secret's SHA-256, when it expires, and
// when it was used, in <data>/state/peers/pairing.json (mode 0600). `agent-room peer pair` adds one (serve need not
// run); the running peer listener uses it up when another machine pairs. Used and expired entries are kept a day so
// that a second try hears "already used" or "expired" rather than "unknown", then dropped.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { peersDir } from './peer-tls.ts';
import { readStateFile, writeStateFile } from './state-file.ts';

export const PAIRING_TTL_MS = 10 * 60 * 1000;
const KEEP_SPENT_MS = 24 * 3600 * 1000;

interface PendingCode {
  sha256: string;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
  usedBy?: string;
}

interface PairingFile {
  version: 1;
  codes: PendingCode[];
}

export type ConsumeResult = { ok: true } | { ok: false; reason: 'expired' | 'used' | 'unknown'; message: string };

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('hex');

function isPairingFile(v: unknown): v is PairingFile {
  return typeof v === 'object' && v !== null && Array.isArray((v as PairingFile).codes);
}

export class PairingStore {
  readonly file: string;
  // One change at a time within this process (the listener may get two pairings at once).
  #queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.file = join(peersDir(stateDir), 'pairing.json');
  }

  /** A new one-time secret, valid for ttlMs. */
  create(ttlMs = PAIRING_TTL_MS, now = new Date()): Promise<{ secret: string; expiresAt: Date }> {
    const secret = randomBytes(16).toString('base64url');
    const expiresAt = new Date(now.getTime() + ttlMs);
    return this.#change((codes) => {
      codes.push({ sha256: hashOf(secret), createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() });
      return { secret, expiresAt };
    }, now);
  }

  /** Uses a secret up: ok once, before it expires. */
  consume(secret: string, usedBy: string, now = new Date()): Promise<ConsumeResult> {
    const given = Buffer.from(hashOf(secret), 'hex');
    return this.#change((codes): ConsumeResult => {
      const code = codes.find((c) => timingSafeEqual(Buffer.from(c.sha256, 'hex'), given));
      if (!code)
        return {
          ok: false,
          reason: 'unknown',
          message: 'This pairing code is not one of this machine’s (or it was used more than a day ago).',
        };
      if (code.usedAt)
        return {
          ok: false,
          reason: 'used',
          message: `This pairing code was already used (${code.usedAt}${code.usedBy ? ` by "${code.usedBy}"` : ''}); each code works once.`,
        };
      if (Date.parse(code.expiresAt) <= now.getTime())
        return { ok: false, reason: 'expired', message: `This pairing code expired at ${code.expiresAt}.` };
      code.usedAt = now.toISOString();
      code.usedBy = usedBy;
      return { ok: true };
    }, now);
  }

  #change<T>(edit: (codes: PendingCode[]) => T, now: Date): Promise<T> {
    const run = this.#queue.then(async () => {
      const data = await readStateFile<PairingFile>(this.file, { version: 1, codes: [] }, isPairingFile);
      const codes = data.codes.filter((c) => Date.parse(c.usedAt ?? c.expiresAt) + KEEP_SPENT_MS > now.getTime());
      const result = edit(codes);
      await writeStateFile(this.file, { version: 1, codes });
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
