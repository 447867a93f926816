// scripts/conduit-smoke.ts, which the release workflow runs on every Conduit build on its own runner, against the
// protocol-faithful stand-in (it reads CONDUIT_CONFIG like Conduit): start, /versions, register with the token (a
// wrong one refused), whoami, stop. A binary that dies at once fails at "start" with its own output.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smokeTest, SmokeError } from '../../scripts/conduit-smoke.ts';

const root = join(import.meta.dirname, '..', '..');

describe('conduit smoke test', () => {
  it('passes a homeserver that starts, answers /versions, registers only with the token and stops', async () => {
    const lines: string[] = [];
    const r = await smokeTest({
      binary: join(root, 'test/support/homeserver/conduit-stand-in.sh'),
      log: (l) => lines.push(l),
    });
    expect(r.userId).toBe('@smoke:smoke.localhost');
    expect(r.versions).toContain('v1.11');
    expect(lines.join('\n')).toMatch(
      /register: @smoke:smoke\.localhost with the token \(a wrong token was refused\)\nstop: exited with 0/,
    );
  });

  it("fails at start, with the binary's output, when it exits before answering", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smoke-bad-'));
    const bin = join(dir, 'conduit');
    writeFileSync(bin, '#!/bin/sh\necho "Error: config: unknown field" >&2\nexit 1\n');
    chmodSync(bin, 0o755);
    const run = smokeTest({ binary: bin, readyTimeoutMs: 20_000 });
    await expect(run).rejects.toBeInstanceOf(SmokeError);
    await expect(run).rejects.toThrow(/^start: the binary exited \(code 1\) before answering[\s\S]*unknown field/);
    rmSync(dir, { recursive: true, force: true });
  });
});
