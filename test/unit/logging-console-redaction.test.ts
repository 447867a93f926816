// serve's console colours (a terminal only; NO_COLOR and TERM=dumb honoured, checked in a real pseudo-terminal)
// and the redaction of the homeserver's own text output (known secrets, token-like keys, whole lines only).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleColors } from '../../main/core/logging/logger.ts';
import { RedactingLineBuffer, redactText } from '../../main/core/logging/redact-text.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

describe('console colours', () => {
  it.each([
    [{ isTTY: true }, {}, true],
    [{ isTTY: false }, {}, false],
    [{}, {}, false],
    [{ isTTY: true }, { NO_COLOR: '1' }, false],
    [{ isTTY: true }, { NO_COLOR: 'anything' }, false],
    [{ isTTY: true }, { NO_COLOR: '' }, true],
    [{ isTTY: true }, { TERM: 'dumb' }, false],
    [{ isTTY: false }, { FORCE_COLOR: '1' }, true],
    [{ isTTY: true }, { FORCE_COLOR: '0' }, false],
    [{ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
  ])('stream %j with env %j → %s', (stream, env, want) => {
    expect(consoleColors(stream, env)).toBe(want);
  });

  // `script` (util-linux) gives the logger a real terminal on stderr.
  const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
  it.skipIf(!script)('a terminal gets colours, and none with NO_COLOR', () => {
    const run = (env: Record<string, string>) => {
      const command = `${join(repoRoot, 'node_modules/.bin/tsx')} ${join(repoRoot, 'test/support/log-to-console.ts')}`;
      const r = spawnSync(script!, ['-qec', command, '/dev/null'], {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', TERM: 'xterm', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stdout).toContain('console line');
      return r.stdout;
    };
    // eslint-disable-next-line no-control-regex
    const ansi = /\x1b\[/;
    expect(run({})).toMatch(ansi);
    expect(run({ NO_COLOR: '1' })).not.toMatch(ansi);
  });
});

describe('homeserver log redaction', () => {
  it.each([
    ['registration_token = "k2Jd9sLmQp0aXv7wZt1YbE4rNc6uHf8g"', 'registration_token = "[redacted]"'],
    [
      'GET /_matrix/client/v3/sync?since=s12&access_token=abcdEFGH1234 200',
      'GET /_matrix/client/v3/sync?since=s12&access_token=[redacted] 200',
    ],
    [
      '{"type":"m.login.password","password":"correct horse","user":"ada"}',
      '{"type":"m.login.password","password":"[redacted]","user":"ada"}',
    ],
    [
      'DEBUG conduit: uiaa registration_token=Some("tok-12345678") user=bot',
      'DEBUG conduit: uiaa registration_token=Some("[redacted]") user=bot',
    ],
    ['Authorization: Bearer syt_Ym90_abcdefghij_0123', 'Authorization: Bearer [redacted]'],
    ['logged in, token syt_Ym90_abcdefghij_0123 issued', 'logged in, token [redacted] issued'],
    ['next_batch_token=s72594_4483 and since=s1', 'next_batch_token=s72594_4483 and since=s1'],
    ['Listening on 127.0.0.1:6167 as agent-room.localhost', 'Listening on 127.0.0.1:6167 as agent-room.localhost'],
  ])('%s', (line, want) => {
    expect(redactText(line)).toBe(want);
  });

  it('removes known secrets wherever they are, and redacts only whole lines even when a secret is split across chunks', () => {
    const secret = 'Zq8rT2mXv9LbN4wK';
    const written: string[] = [];
    const buffer = new RedactingLineBuffer(
      (t) => written.push(t),
      () => [secret],
    );
    buffer.push(`boot: config has ${secret.slice(0, 6)}`);
    expect(written).toEqual([]);
    buffer.push(Buffer.from(`${secret.slice(6)} in it\nsecond line café`.slice(0, -1)));
    // "é" is two bytes in UTF-8: the chunk ends inside it.
    const cafe = Buffer.from('é\n');
    buffer.push(cafe.subarray(0, 1));
    buffer.push(cafe.subarray(1));
    buffer.push('a last line without a newline, with password=hunter2xx');
    buffer.flush();
    const text = written.join('');
    expect(text).toBe(
      'boot: config has [redacted] in it\nsecond line café\na last line without a newline, with password=[redacted]',
    );
  });
});
