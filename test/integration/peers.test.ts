// Two machines as a pool, on loopback: two real `agent-room serve` processes (two data folders, two ports). A lends
// its model (no homeserver, no bots of its own running); B runs the test homeserver and bots whose model is A's.
// B pairs with A through the CLI while both run; B's bot answers a mention with A's model (A's audit shows the call
// under the key pairing made); a sensitive prompt and a local-only bot stay off A until B trusts A as local; once A
// stops, B's bot falls back or says which endpoint is down within 5 s. A code with another certificate's fingerprint,
// an expired code and a used one are refused; A announces itself on the LAN and `peer discover` finds it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePairingCode, encodePairingCode } from '../../main/core/peers/pairing-code.ts';
import { runCli, startCli, type RunningCli } from '../support/cli.ts';
import { waitUntil } from '../support/faults/procs.ts';
import { outcomes } from '../support/faults/replies.ts';
import { closeStack, openStack, type Stack } from '../support/faults/scenarios.ts';
import { botSettings, makeDataDir, provision, waitForTimeline } from '../support/faults/stack.ts';
import { tinyModel } from '../support/models.ts';

const ERROR = /⚠️ The answer could not be completed: .+/;

let a: RunningCli;
let aDir: string;
let aPeerUrl: string;
let b: Stack;
let tiny: string;

interface AuditRow {
  botId: string;
  model: string;
  local: boolean;
  sensitive: string[];
  outcome: string;
}

async function audit(dir: string): Promise<AuditRow[]> {
  const { code, output } = await runCli(['--data-dir', dir, 'audit', '--json']);
  expect(code).toBe(0);
  return JSON.parse(output.slice(output.indexOf('['))) as AuditRow[];
}

/** The calls B's bots made on A (A's audit names them by the key pairing made: api:peer:b/<model>). */
const callsFromB = async (): Promise<number> =>
  (await audit(aDir)).filter((r) => r.botId.startsWith('api:peer:b')).length;

async function pairCode(ttl?: number): Promise<{ code: string; url: string; expiresAt: string }> {
  const { code, output } = await runCli([
    '--data-dir',
    aDir,
    'peer',
    'pair',
    '--json',
    ...(ttl ? ['--ttl', String(ttl)] : []),
  ]);
  expect(code).toBe(0);
  return JSON.parse(output.slice(output.indexOf('{'))) as { code: string; url: string; expiresAt: string };
}

const peerAdd = (...args: string[]) => runCli(['--data-dir', b.serve.dataDir, 'peer', 'add', ...args]);

async function ask(botId: string, text: string): Promise<{ ms: number; text: string }> {
  const bot = provision(b.serve.dataDir).bots.find((x) => x.id === botId)!;
  const t0 = Date.now();
  const id = await b.owner.mention([bot.userId], text);
  const reply = await waitForTimeline(
    b.owner,
    `${botId} to finish`,
    (ev) => outcomes(ev, [id], bot.userId)[0]!.replies.find((r) => r.final),
    30_000,
  );
  return { ms: Date.now() - t0, text: reply.text };
}

beforeAll(async () => {
  tiny = `llama:${await tinyModel()}`;
  aDir = mkdtempSync(join(tmpdir(), 'agent-room-peer-a-'));
  writeFileSync(
    join(aDir, 'settings.json'),
    JSON.stringify({
      version: 1,
      bots: [{ id: 'big', displayName: 'Big', model: tiny, maxTokens: 24 }],
      inference: { threads: 1 },
      peers: { name: 'a', advertise: true },
    }),
  );
  a = startCli(['--data-dir', aDir, 'serve', '--port', '0', '--no-bots'], { AGENT_ROOM_CONDUIT: '' });
  aPeerUrl = (await a.waitFor(/Peers \(TLS\): (https:\/\/127\.0\.0\.1:\d+\/v1)/, 60_000))[1]!;
  // B: bots whose model is A's; one falls back to a model here; one is local-only.
  const peerModel = 'openai:peer-a/big';
  const secretive = { id: 'private', model: peerModel, localOnly: true };
  const dir = makeDataDir(
    botSettings([{ id: 'helper', model: peerModel }, { id: 'steady', model: peerModel, fallback: [tiny] }, secretive], {
      peers: { name: 'b' },
    }),
    'agent-room-peer-b-',
  );
  b = await openStack(dir);
}, 120_000);

afterAll(async () => {
  if (a && a.child.exitCode === null) {
    a.child.kill('SIGTERM');
    await a.exited;
  }
  if (b) await closeStack(b);
});

describe('two machines as a pool', () => {
  it('refuses a code carrying another certificate’s fingerprint before sending its secret, and an expired code', async () => {
    const good = await pairCode();
    const forged = encodePairingCode({ ...decodePairingCode(good.code), fingerprint: 'ab'.repeat(32) });
    const wrong = await peerAdd(aPeerUrl, forged);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/presented a certificate whose SHA-256 is [0-9A-F:]+, not the pinned AB:AB/);
    // A never got the secret (the connection was dropped at the certificate): the genuine code works below.
    const short = await pairCode(1);
    await waitUntil('the short code to expire', () => Date.now() > Date.parse(short.expiresAt) + 50 || undefined, 5000);
    const expired = await peerAdd(aPeerUrl, short.code);
    expect(expired.code).toBe(1);
    expect(expired.output).toMatch(/refused to pair \(HTTP 403\): This pairing code expired/);
    const paired = await peerAdd(aPeerUrl, good.code);
    expect(paired.code).toBe(0);
    expect(paired.output).toMatch(/Paired with "a" at https:\/\/127\.0\.0\.1:\d+\/v1 as endpoint peer-a/);
    expect(paired.output).toContain('openai:peer-a/big');
    // Once only.
    const again = await peerAdd(aPeerUrl, good.code);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already used .* by "b"/);
  });

  it('answers a mention in B’s room with A’s model; A’s audit shows the call under the peer’s key', async () => {
    const before = await callsFromB();
    const r = await ask('helper', 'hello from B');
    expect(r.text).not.toMatch(ERROR);
    expect(r.text.length).toBeGreaterThan(0);
    const rows = await waitUntil(
      'A to record the call',
      async () => {
        const rs = (await audit(aDir)).filter((x) => x.botId === 'api:peer:b/big');
        return rs.length > before ? rs : undefined;
      },
      10_000,
    );
    expect(rows.at(-1)).toMatchObject({ model: tiny, outcome: 'ok' });
    const list = await runCli(['--data-dir', b.serve.dataDir, 'peer', 'list', '--json']);
    const peers = JSON.parse(list.output.slice(list.output.indexOf('['))) as Array<Record<string, unknown>>;
    expect(peers).toMatchObject([{ name: 'a', reachable: true, trustedLocal: false }]);
    expect(peers[0]!.models).toContain('big');
    expect(peers[0]!.hardware).toMatchObject({ backend: expect.any(String), memoryBudgetMiB: expect.any(Number) });
  });

  it('keeps a sensitive prompt and a local-only bot off A until A is trusted-local', async () => {
    const before = await callsFromB();
    const card = 'my card is 4111 1111 1111 1111, is that ok?';
    const local = await ask('steady', card);
    expect(local.text).not.toMatch(ERROR);
    const refused = await ask('private', 'hello');
    expect(refused.text).toMatch(
      /"private" is local-only, and none of its models stays on this machine: openai:peer-a\/big/,
    );
    expect(refused.text).toMatch(
      /A paired peer you trust as this machine may take them: agent-room peer trust a --local\./,
    );
    // B decided before calling anyone: both replies are final, and A has no new call.
    expect(await callsFromB()).toBe(before);
    const bRows = await audit(b.serve.dataDir);
    expect(bRows.find((r) => r.sensitive.length > 0)).toMatchObject({ model: tiny, local: true });

    const trust = await runCli(['--data-dir', b.serve.dataDir, 'peer', 'trust', 'a', '--local']);
    expect(trust.code).toBe(0);
    expect((await ask('steady', card)).text).not.toMatch(ERROR);
    expect((await ask('private', 'hello')).text).not.toMatch(ERROR);
    await waitUntil(
      'A to record both calls',
      async () => ((await callsFromB()) === before + 2 ? true : undefined),
      10_000,
    );
    expect((await audit(aDir)).at(-2)!.sensitive).toEqual(['card']);
    await runCli(['--data-dir', b.serve.dataDir, 'peer', 'trust', 'a', '--no-local']);
    // The card number stays in the room's history, which later questions carry: start a new context.
    await b.owner.send({ msgtype: 'm.text', body: '!reset' });
    await waitForTimeline(
      b.owner,
      'the context to be cleared',
      (ev) => ev.find((e) => String(e.content?.body ?? '').startsWith('Context cleared')),
      10_000,
    );
  });

  it('finds A on the LAN (mDNS), and probe shows A beside this machine’s plan', async () => {
    const found = await runCli(['peer', 'discover', '--json']);
    const list = JSON.parse(found.output.slice(found.output.indexOf('['))) as Array<{ name: string; url: string }>;
    const port = new URL(aPeerUrl).port;
    expect(list.find((d) => d.name === 'a' && d.url.endsWith(`:${port}/v1`))).toBeDefined();
    const probe = await runCli(['--data-dir', b.serve.dataDir, 'probe', '--json']);
    const { peers } = JSON.parse(probe.output.slice(probe.output.indexOf('{'))) as {
      peers: Array<{ name: string; line: string }>;
    };
    expect(peers[0]).toMatchObject({ name: 'a', endpoint: 'peer-a' });
    expect(peers[0]!.line).toMatch(/^a: .*MiB for models/);
  });

  it('with A stopped, B’s bot falls back, or says which endpoint is down, within 5 s', async () => {
    a.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    // helper first: the fallback's answer (the tiny model's random text) then is not in its context.
    const down = await ask('helper', 'still there?');
    expect(down.ms).toBeLessThan(5000);
    expect(down.text).toMatch(ERROR);
    expect(down.text).toMatch(/peer-a.*ECONNREFUSED/);
    const fb = await ask('steady', 'still there?');
    expect(fb.ms).toBeLessThan(5000);
    expect(fb.text).not.toMatch(ERROR);
    // serve's own view: the failed request (and each 30 s check) marked the peer down.
    const status = await runCli(['--data-dir', b.serve.dataDir, 'status']);
    expect(status.output).toMatch(/Peer: +peer-a DOWN: Cannot reach endpoint "peer-a" .*ECONNREFUSED/);
    const list = await runCli(['--data-dir', b.serve.dataDir, 'peer', 'list']);
    expect(list.output).toMatch(/NOT REACHABLE: Cannot reach https:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/);
  });
});
