// The sensitivity check: whether a request (the question and the context that goes with it) holds data
// that must not leave this machine. Pure: it says which kinds it found, never the values.
//
// No library: validator and ibantools check a whole string that is already known to be a card number or an
// IBAN; finding them inside free text is the part we need, and the checksums (Luhn, ISO 7064 mod-97) are a few
// lines each. Adding a dependency for them is not worth it.

import { patternError } from '../../common/settings-schema.ts';

export interface SensitivePattern {
  name: string;
  /** A regular expression, matched case-insensitively. */
  pattern: string;
}

export interface SensitiveFinding {
  /** 'email', 'phone', 'iban', 'card', 'api-key:<provider>', 'private-key' or 'custom:<name>'. */
  kind: string;
}

/** Luhn's checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** The IBAN check (ISO 13616 / ISO 7064 mod 97-10) over a compact, upper-case IBAN. */
export function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

// 13–19 digits, single spaces or dashes allowed between them, not part of a longer number.
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g;
// Card issuers' numbers start with 2 (Mastercard), 3 (Amex, JCB, Diners), 4 (Visa), 5 (Mastercard) or
// 6 (Discover, UnionPay, Maestro): this keeps timestamps and most order numbers out.
function isCard(match: string): boolean {
  const digits = match.replace(/[ -]/g, '');
  return /^[2-6]/.test(digits) && !/^(\d)\1+$/.test(digits) && luhnValid(digits);
}

// Compact (DE89370400440532013000) or in groups of four (DE89 3704 0044 0532 0130 00).
const IBAN_COMPACT = /\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b/g;
const IBAN_GROUPED = /\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?\b/g;
function isIban(match: string): boolean {
  const compact = match.replace(/ /g, '');
  if (ibanValid(compact)) return true;
  // A grouped match may have taken the next upper-case word as its last group.
  const parts = match.split(' ');
  return parts.length > 3 && ibanValid(parts.slice(0, -1).join(''));
}

const EMAIL = /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])/;
// International numbers only (a leading +, then 8–15 digits as E.164 allows, with spaces, dashes, dots or one
// pair of parentheses): national numbers look too much like order numbers, amounts and dates to flag.
const PHONE = /(?<![\w+])\+\d(?:[ .-]?\(?\d\)?){7,14}(?![\d])/g;
function isPhone(match: string): boolean {
  const digits = match.replace(/\D/g, '');
  return digits.length >= 8 && digits.length <= 15;
}

const KEYS: Array<[kind: string, re: RegExp]> = [
  ['api-key:anthropic', /\bsk-ant-[A-Za-z0-9_-]{20,}/],
  // Random base62 with a digit somewhere: a long slug such as sk-learn-… is not a key.
  ['api-key:openai', /\bsk-(?!ant-)(?=[A-Za-z0-9_-]*\d)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/],
  ['api-key:github', /\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})(?![A-Za-z0-9_])/],
  ['api-key:slack', /\bxox[abposre]-[A-Za-z0-9-]{10,}/],
  ['api-key:aws', /\b(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/],
  ['api-key:google', /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/],
  ['api-key:huggingface', /\bhf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])/],
  ['private-key', /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/],
];

function anyMatch(text: string, re: RegExp, check: (m: string) => boolean): boolean {
  for (const m of text.matchAll(re)) if (check(m[0])) return true;
  return false;
}

const BUILT_IN: Array<[kind: string, test: (text: string) => boolean]> = [
  ['card', (t) => anyMatch(t, CARD, isCard)],
  ['iban', (t) => anyMatch(t, IBAN_COMPACT, isIban) || anyMatch(t, IBAN_GROUPED, isIban)],
  ['email', (t) => EMAIL.test(t)],
  ['phone', (t) => anyMatch(t, PHONE, isPhone)],
  ...KEYS.map(([kind, re]): [string, (t: string) => boolean] => [kind, (t) => re.test(t)]),
];

/**
 * The kinds of sensitive data in the texts, each once, in the order of the checks. Never the values.
 * Patterns that do not compile are left out (settings validation refuses them before they get here).
 */
export function findSensitive(texts: readonly string[], extra: readonly SensitivePattern[] = []): SensitiveFinding[] {
  const custom: Array<[string, (t: string) => boolean]> = [];
  for (const p of extra) {
    if (patternError(p.pattern) !== undefined) continue;
    const re = new RegExp(p.pattern, 'i');
    custom.push([`custom:${p.name}`, (t) => re.test(t)]);
  }
  const found: SensitiveFinding[] = [];
  for (const [kind, test] of [...BUILT_IN, ...custom]) {
    if (texts.some((t) => test(t))) found.push({ kind });
  }
  return found;
}

const LABELS: Record<string, string> = {
  email: 'an e-mail address',
  phone: 'a phone number',
  iban: 'an IBAN',
  card: 'a card number',
  'private-key': 'a private key',
};

/** How a kind reads in a notice: "a card number", "an API key (openai)", "a match of the pattern 'x'". */
export function describeKind(kind: string): string {
  if (kind.startsWith('api-key:')) return `an API key (${kind.slice(8)})`;
  if (kind.startsWith('custom:')) return `a match of the pattern "${kind.slice(7)}"`;
  return LABELS[kind] ?? kind;
}
