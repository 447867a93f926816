// `node --experimental-strip-types scripts/conduit-smoke.ts <conduit binary>`: proves a Conduit build works as the
// app uses it, on the machine it was built for (the release workflow runs it on each target's own runner). With the
// conduit.toml the app itself writes (main/core/homeserver/conduit-config.ts: loopback, federation off, registration
// only with a token) it: starts the binary, waits for /_matrix/client/versions, registers an account with the token
// (and sees a wrong token refused), checks the account's access token with /whoami, then stops it and waits for
// the process to end. Exit 0 when every step passed; otherwise 1, with the step and the binary's last output.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderConduitToml, type DatabaseBackend } from '../main/core/homeserver/conduit-config.ts';

export interface SmokeOptions {
  binary: string;
  /** Arguments before the binary's own (none for Conduit; the test stand-in is a script). */
  args?: string[];
  databaseBackend?: DatabaseBackend;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export class SmokeError extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(`${step}: ${message}`);
    this.name = 'SmokeError';
    this.step = step;
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => res(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  try {
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Registers through the user-interactive flow with m.login.registration_token; returns the user id and token. */
async function register(
  base: string,
  token: string,
  username: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const post = (body: object) =>
    fetch(`${base}/_matrix/client/v3/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const request = { username, password: randomBytes(12).toString('hex'), inhibit_login: false };
  const first = await post(request);
  const challenge = await json(first);
  if (first.status !== 401 || typeof challenge.session !== 'string')
    throw new SmokeError(
      'register',
      `expected a 401 with a session, got HTTP ${first.status} ${JSON.stringify(challenge)}`,
    );
  const flows = JSON.stringify(challenge.flows ?? []);
  if (!flows.includes('m.login.registration_token'))
    throw new SmokeError('register', `the server does not ask for a registration token (flows: ${flows})`);
  const second = await post({
    ...request,
    auth: { type: 'm.login.registration_token', token, session: challenge.session },
  });
  return { status: second.status, body: await json(second) };
}

export async function smokeTest(o: SmokeOptions): Promise<{ versions: string[]; userId: string }> {
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'conduit-smoke-'));
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const config = join(dir, 'conduit.toml');
  mkdirSync(join(dir, 'db'));
  writeFileSync(
    config,
    renderConduitToml({
      serverName: 'smoke.localhost',
      databasePath: join(dir, 'db'),
      databaseBackend: o.databaseBackend ?? (process.platform === 'win32' ? 'sqlite' : 'rocksdb'),
      address: '127.0.0.1',
      port,
      registrationToken: token,
      maxRequestSizeBytes: 20 * 1024 * 1024,
      logLevel: 'warn',
    }),
  );
  let output = '';
  const child = spawn(o.binary, o.args ?? [], {
    env: { ...process.env, CONDUIT_CONFIG: config },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let ended: number | null | undefined;
  void exited.then((code) => (ended = code));
  child.on('error', (err) => (output += `\n${String(err)}`));
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const fail = (step: string, message: string) =>
    new SmokeError(step, `${message}\n--- last output ---\n${output.trim()}`);
  try {
    log(`start: ${o.binary} on ${base}`);
    const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
    let versions: string[] | undefined;
    while (!versions) {
      if (ended !== undefined) throw fail('start', `the binary exited (code ${ended}) before answering`);
      if (Date.now() > deadline) throw fail('start', `no answer on ${base}/_matrix/client/versions in time`);
      const res = await fetch(`${base}/_matrix/client/versions`).catch(() => undefined);
      if (res?.ok) versions = ((await json(res)).versions as string[] | undefined) ?? [];
      else await new Promise((r) => setTimeout(r, 250));
    }
    if (versions.length === 0) throw fail('/versions', 'the answer lists no spec versions');
    log(`/versions: ${versions.join(', ')}`);

    const wrong = await register(base, 'not-the-token', 'smoke-wrong');
    if (wrong.status === 200) throw fail('register', 'a wrong registration token was accepted');
    const right = await register(base, token, 'smoke');
    const userId = right.body.user_id;
    const accessToken = right.body.access_token;
    if (right.status !== 200 || typeof userId !== 'string' || typeof accessToken !== 'string')
      throw fail('register', `HTTP ${right.status} ${JSON.stringify(right.body)}`);
    const who = await fetch(`${base}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    const whoBody = await json(who);
    if (!who.ok || whoBody.user_id !== userId) throw fail('whoami', `HTTP ${who.status} ${JSON.stringify(whoBody)}`);
    log(`register: ${userId} with the token (a wrong token was refused)`);
    return { versions, userId };
  } finally {
    if (ended === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      log(`stop: exited with ${code ?? 'a signal'}`);
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [binary, ...args] = process.argv.slice(2);
  if (!binary) {
    console.error('usage: conduit-smoke.ts <conduit binary> [args…]');
    process.exit(2);
  }
  try {
    const r = await smokeTest({ binary: resolve(binary), args, log: (l) => console.log(l) });
    console.log(`conduit smoke: passed (${r.userId})`);
  } catch (err) {
    console.error(`conduit smoke: FAILED at ${err instanceof SmokeError ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
