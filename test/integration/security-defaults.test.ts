// The defaults that protect the person, checked on a real serve after a full run (a local bot and a cloud
// bot with an API key each answer a mention): sockets bound to 127.0.0.1, federation off, registration
// only with the token, the control API closed without its token or from another origin, and no secret in
// the logs, settings.json or the state files.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomes } from '../support/faults/replies.ts';
import { closeStack, openStack, type Stack } from '../support/faults/scenarios.ts';
import { botSettings, makeDataDir, provision, secrets, waitForTimeline } from '../support/faults/stack.ts';
import { tinyModel } from '../support/models.ts';
import { OpenAITestServer } from '../support/openai-server.ts';

const API_KEY = 'sk-fault-test-4f1c9a7e2b';
let stack: Stack;
let openai: OpenAITestServer;

/** Listening TCP sockets (state 0A) from /proc/net/tcp and tcp6: port → local addresses in hex. */
function listeners(): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue;
      const [addr, portHex] = cols[1]!.split(':');
      const port = parseInt(portHex!, 16);
      out.set(port, [...(out.get(port) ?? []), addr!]);
    }
  }
  return out;
}

beforeAll(async () => {
  openai = await OpenAITestServer.start({ models: ['gpt-test'], apiKey: API_KEY });
  const dir = makeDataDir(
    botSettings(
      [
        { id: 'tiny', model: `llama:${await tinyModel()}` },
        { id: 'cloud', model: 'openai:cloud/gpt-test' },
      ],
      {
        endpoints: { openai: [{ id: 'cloud', url: openai.url, apiKeyRef: 'env:FAULT_TEST_API_KEY' }] },
      },
    ),
  );
  process.env.FAULT_TEST_API_KEY = API_KEY;
  stack = await openStack(dir);
  delete process.env.FAULT_TEST_API_KEY;
  for (const bot of provision(dir).bots) {
    const id = await stack.owner.mention([bot.userId], 'hello, what can you do?');
    await waitForTimeline(
      stack.owner,
      `${bot.id} to answer`,
      (ev) => outcomes(ev, [id], bot.userId)[0]!.replies.find((r) => r.final),
      20_000,
    );
  }
});

afterAll(async () => {
  if (stack) await closeStack(stack);
  await openai?.close();
});

describe('security defaults', () => {
  it('the cloud bot really used its API key (so the scan below means something)', () => {
    expect(openai.chatRequests().some((r) => r.authorization === `Bearer ${API_KEY}`)).toBe(true);
  });

  it('binds the control API, the homeserver and the peer listener to 127.0.0.1 only (checked on the sockets)', () => {
    const socks = listeners();
    const controlPort = Number(new URL(stack.serve.controlUrl).port);
    const hsPort = Number(new URL(stack.owner.baseUrl).port);
    const peerPort = (
      JSON.parse(readFileSync(join(stack.serve.dataDir, 'state', 'peers', 'listener.json'), 'utf8')) as { port: number }
    ).port;
    for (const port of [controlPort, hsPort, peerPort]) {
      expect(socks.get(port), `port ${port} listens`).toBeDefined();
      // 0100007F is 127.0.0.1 in /proc's little-endian hex; nothing on 0.0.0.0 or ::.
      expect(socks.get(port)).toEqual(['0100007F']);
    }
  });

  it('writes federation off and a loopback address into conduit.toml', () => {
    const toml = parse(readFileSync(join(stack.serve.dataDir, 'homeserver', 'conduit.toml'), 'utf8')) as {
      global: Record<string, unknown>;
    };
    expect(toml.global.allow_federation).toBe(false);
    expect(toml.global.address).toBe('127.0.0.1');
    expect(typeof toml.global.registration_token).toBe('string');
  });

  it('refuses registration without the token or with a wrong one (the running homeserver)', async () => {
    const register = (auth?: Record<string, unknown>) =>
      fetch(`${stack.owner.baseUrl}/_matrix/client/v3/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'intruder', password: 'pw-intruder-123', ...(auth ? { auth } : {}) }),
      });
    for (const auth of [undefined, { type: 'm.login.dummy' }, { type: 'm.login.registration_token', token: 'guess' }]) {
      const res = await register(auth);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { flows?: Array<{ stages: string[] }>; access_token?: string };
      expect(body.access_token).toBeUndefined();
      expect(body.flows?.flatMap((f) => f.stages)).toContain('m.login.registration_token');
    }
  });

  it('refuses control API calls without the token, with a wrong one, or from another origin', async () => {
    const call = (headers: Record<string, string>) =>
      fetch(`${stack.serve.controlUrl}/api/settings.get`, { method: 'POST', headers, body: '' });
    expect((await call({})).status).toBe(401);
    expect((await call({ Authorization: 'Bearer nope' })).status).toBe(401);
    expect((await call({ Authorization: `Bearer ${stack.serve.token}`, Origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect((await call({ Authorization: `Bearer ${stack.serve.token}` })).status).toBe(200);
    const ws = (url: string, origin?: string) =>
      new Promise<string>((resolve) => {
        const sock = new WebSocket(url, origin ? { origin } : {});
        sock.on('open', () => {
          sock.close();
          resolve('open');
        });
        sock.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
        sock.on('error', () => resolve('error'));
      });
    const wsUrl = `${stack.serve.controlUrl.replace('http', 'ws')}/api/events`;
    expect(await ws(wsUrl)).toBe('401');
    expect(await ws(`${wsUrl}?token=${stack.serve.token}`, 'http://evil.example')).toBe('401');
    expect(await ws(`${wsUrl}?token=${stack.serve.token}`)).toBe('open');
  });

  it('leaves no secret in the logs, settings.json or the state files', () => {
    const dir = stack.serve.dataDir;
    const secretValues = [...Object.entries(secrets(dir))]
      .filter(([k]) => /password|accessToken|registrationToken/i.test(k))
      .map(([, v]) => v);
    expect(secretValues.length).toBeGreaterThanOrEqual(5); // owner password + token, bot passwords + tokens, registration token
    secretValues.push(API_KEY, stack.serve.token);
    const files = [join(dir, 'settings.json'), ...readdirSync(join(dir, 'logs')).map((f) => join(dir, 'logs', f))];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else files.push(join(d, e.name));
      }
    };
    walk(join(dir, 'state'));
    expect(files.some((f) => f.includes('app'))).toBe(true);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const secret of secretValues) expect(text.includes(secret), `${file} contains a secret`).toBe(false);
    }
  });
});
