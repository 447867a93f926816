// The Conduit stand-in as a real child process: config from $CONDUIT_CONFIG, readiness, SIGTERM, bad config, busy port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NODE = join(process.cwd(), 'node_modules/.bin/node');
const SCRIPT = join(process.cwd(), 'test/support/homeserver/conduit-stand-in.ts');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function toml(dir: string, port: number, extra = ''): string {
  const path = join(dir, 'conduit.toml');
  writeFileSync(
    path,
    `[global]\nserver_name = "stand.local"\ndatabase_path = "${join(dir, 'db')}"\naddress = "127.0.0.1"\nport = ${port}\nallow_registration = true\nregistration_token = "tok"\nallow_federation = false\nmax_request_size = 20000000\nlog = "info"\n${extra}`,
  );
  return path;
}

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function run(configPath: string): Run {
  const child = spawn(NODE, [SCRIPT], {
    env: { ...process.env, CONDUIT_CONFIG: configPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  return { child, stdout, stderr, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

async function waitReady(port: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('stand-in not ready');
}

async function register(port: number, username: string): Promise<Record<string, unknown>> {
  const url = `http://127.0.0.1:${port}/_matrix/client/v3/register`;
  const first = (await (
    await fetch(url, { method: 'POST', body: JSON.stringify({ username, password: 'pw' }) })
  ).json()) as { session: string };
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify({
      username,
      password: 'pw',
      auth: { type: 'm.login.registration_token', token: 'tok', session: first.session },
    }),
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('conduit stand-in executable', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stand-in-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves on the configured port, logs to stdout, keeps data and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const config = toml(dir, port);
    const first = run(config);
    await waitReady(port);
    const reg = await register(port, 'owner');
    expect(reg.user_id).toBe('@owner:stand.local');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.stdout.join('')).toContain(`Listening on 127.0.0.1:${port}`);

    const second = run(config);
    await waitReady(port);
    const who = await fetch(`http://127.0.0.1:${port}/_matrix/client/v3/account/whoami`, {
      headers: { Authorization: `Bearer ${String(reg.access_token)}` },
    });
    expect(((await who.json()) as { user_id: string }).user_id).toBe('@owner:stand.local');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('refuses to start on a busy port or an invalid config, with a message on stderr', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const busyPort = (blocker.address() as { port: number }).port;
    const busy = run(toml(dir, busyPort));
    expect(await busy.exited).toBe(1);
    expect(busy.stderr.join('')).toContain('already in use');
    blocker.close();

    const badPath = join(dir, 'bad.toml');
    writeFileSync(badPath, '[global]\nport = "not a number"\n');
    const bad = run(badPath);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr.join('')).toMatch(/server_name|port/);
  });
});
