// The sensitivity check, table-driven: what it finds (and, as much, what it must not flag), never the values.
import { describe, expect, it } from 'vitest';
import { patternError } from '../../main/common/settings-schema.ts';
import { describeKind, findSensitive, ibanValid, luhnValid } from '../../main/core/inference/sensitivity.ts';

// Fake keys in the providers' shapes, built so that no real-looking secret sits in the source.
const fake = {
  openai: `sk-proj-${'Ab3d'.repeat(12)}`,
  anthropic: `sk-ant-api03-${'Xy7z'.repeat(10)}`,
  github: `ghp_${'a1B2'.repeat(9)}`,
  githubPat: `github_pat_${'11ABCDEFG0'.repeat(3)}`,
  slack: `xoxb-${'1234567890'}-${'abcdefABCDEF1234'}`,
  aws: 'AKIAIOSFODNN7EXAMPLE',
  google: `AIza${'Sy0b1c2d3e4f5g6h7'.repeat(2)}x`,
  huggingface: `hf_${'aBcDeFgHiJ'.repeat(3)}x`,
};

const cases: Array<[what: string, text: string, kinds: string[]]> = [
  ['a Visa test number with spaces', 'pay with 4111 1111 1111 1111 please', ['card']],
  ['a Mastercard test number with dashes', 'card 5555-5555-5555-4444', ['card']],
  ['an Amex test number', 'amex 378282246310005.', ['card']],
  ['a card number failing Luhn', 'pay with 4111 1111 1111 1112 please', []],
  ['an ISO date and time', 'meet on 2024-05-17 at 12:30, or 17.05.2024', []],
  ['an order number', 'order 1234567890123456 shipped', []],
  ['a millisecond timestamp', 'at 1715942400000 the job ended', []],
  ['an amount and a version', 'it cost 1,299.00 EUR in v2.14.3', []],
  ['a German IBAN in groups', 'IBAN: DE89 3704 0044 0532 0130 00 BITTE', ['iban']],
  ['a British IBAN, compact', 'to GB82WEST12345698765432 today', ['iban']],
  ['an IBAN with a wrong check digit', 'IBAN: DE89 3704 0044 0532 0130 01', []],
  ['an e-mail address', 'write to jane.doe+work@example.co.uk', ['email']],
  ['a Matrix user id', 'ask @bot:agent-room.localhost', []],
  ['an international phone number', 'call +49 30 12345678 or +1 (555) 123-4567', ['phone']],
  ['a national phone number', 'call 030 1234567', []],
  ['a sum with a plus', 'add +3 and 2', []],
  ['an OpenAI key', `key=${fake.openai}`, ['api-key:openai']],
  ['an Anthropic key', `use ${fake.anthropic}`, ['api-key:anthropic']],
  ['a GitHub token', `token ${fake.github}`, ['api-key:github']],
  ['a GitHub fine-grained token', fake.githubPat, ['api-key:github']],
  ['a Slack token', fake.slack, ['api-key:slack']],
  ['an AWS access key id', `aws_access_key_id = ${fake.aws}`, ['api-key:aws']],
  ['a Google API key', `?key=${fake.google}`, ['api-key:google']],
  ['a Hugging Face token', fake.huggingface, ['api-key:huggingface']],
  ['a long slug, not a key', 'pip install sk-learn-something-very-long-indeed', []],
  ['a PEM private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----', ['private-key']],
  ['an OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----', ['private-key']],
  ['a public certificate', '-----BEGIN CERTIFICATE-----\nMIIB...', []],
  ['ordinary prose', 'What is the capital of France? Answer in 3 words.', []],
];

describe('findSensitive', () => {
  it.each(cases)('%s', (_what, text, kinds) => {
    expect(findSensitive([text]).map((f) => f.kind)).toEqual(kinds);
  });

  it('looks at every text, names each kind once, and never carries the value', () => {
    const found = findSensitive(['hello', '4111 1111 1111 1111', 'and 5555555555554444', `k ${fake.openai}`]);
    expect(found).toEqual([{ kind: 'card' }, { kind: 'api-key:openai' }]);
    expect(JSON.stringify(found)).not.toMatch(/4111|5555|Ab3d/);
  });

  it('adds the patterns from settings, case-insensitively, and leaves out one that does not compile', () => {
    const extra = [
      { name: 'project', pattern: 'codename\\s+falcon' },
      { name: 'broken', pattern: '([' },
    ];
    expect(findSensitive(['About CODENAME Falcon'], extra)).toEqual([{ kind: 'custom:project' }]);
    expect(findSensitive(['nothing here'], extra)).toEqual([]);
  });
});

describe('the checksums and helpers', () => {
  it('checks Luhn and mod-97', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('de89370400440532013000')).toBe(false);
  });

  it('names a bad pattern and describes kinds without values', () => {
    expect(patternError('([')).toMatch(/Invalid regular expression/);
    expect(patternError('a+')).toBeUndefined();
    expect(describeKind('card')).toBe('a card number');
    expect(describeKind('api-key:openai')).toBe('an API key (openai)');
    expect(describeKind('custom:project')).toBe('a match of the pattern "project"');
  });
});
