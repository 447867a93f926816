// Pairing's decisions and files without a network: the code's format, one-time secrets that expire, the peers'
// file read again when it changes, the privacy check's view of a peer (trusted-local or not), what probe says of a
// peer's GPU, the name a machine pairs under, and the mDNS wiring (a fake bonjour-service).
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { OpenAIBackend } from '../../main/core/inference/openai/openai-backend.ts';
import { decodePairingCode, encodePairingCode, PairingCodeError } from '../../main/core/peers/pairing-code.ts';
import { PairingStore } from '../../main/core/peers/pairing-store.ts';
import { machineName } from '../../main/core/peers/peer-address.ts';
import { advertise, discover, type Mdns, type MdnsService } from '../../main/core/peers/peer-mdns.ts';
import { peerAdvice } from '../../main/core/peers/peer-recommend.ts';
import { PeerStore, type PeerHardware, type PeerRecord } from '../../main/core/peers/peer-store.ts';
import { normalizeFingerprint } from '../../main/core/peers/peer-tls.ts';
import { MODEL_TIERS, type InferencePlan } from '../../main/core/probe/plan.ts';

const FP = 'a1'.repeat(32);
const code = {
  url: 'https://192.168.1.20:7443/v1',
  secret: 'kR3x9QmZ2vB8tY1wLp4nHg',
  fingerprint: FP,
  name: 'gpu-box',
};
const tmp = () => mkdtempSync(join(tmpdir(), 'agent-room-peers-'));

describe('the pairing code', () => {
  it('round-trips and reads the fingerprint in any of its forms', () => {
    const text = encodePairingCode(code);
    expect(text).toMatch(/^arp1\.[A-Za-z0-9_-]+$/);
    expect(decodePairingCode(` ${text}\n`)).toEqual(code);
    expect(normalizeFingerprint('A1:'.repeat(31) + 'A1')).toBe(FP);
    expect(normalizeFingerprint(Buffer.from(FP, 'hex').toString('base64url'))).toBe(FP);
  });

  const body = (v: unknown) => `arp1.${Buffer.from(JSON.stringify(v)).toString('base64url')}`;
  const f = Buffer.from(FP, 'hex').toString('base64url');
  it.each([
    ['not a code', 'hello', /does not start with arp1\./],
    ['cut short', encodePairingCode(code).slice(0, 40), /cut short|missing/],
    ['a part missing', body({ u: code.url, s: code.secret, n: 'x' }), /a part is missing/],
    ['a short fingerprint', body({ u: code.url, s: code.secret, f: 'AAAA', n: 'x' }), /not a SHA-256/],
    ['http', body({ u: 'http://1.2.3.4:1/v1', s: code.secret, f, n: 'x' }), /not https/],
    ['not a URL', body({ u: 'nowhere', s: code.secret, f, n: 'x' }), /not a URL/],
    ['a short secret', body({ u: code.url, s: 'abc', f, n: 'x' }), /too short/],
  ])('refuses %s, saying what to paste instead', (_what, text, why) => {
    expect(() => decodePairingCode(text)).toThrow(PairingCodeError);
    expect(() => decodePairingCode(text)).toThrow(why);
    expect(() => decodePairingCode(text)).toThrow(/agent-room peer pair/);
  });
});

describe('one-time pairing secrets', () => {
  it('work once, before they expire, and keep only a hash on disk (mode 0600)', async () => {
    const dir = tmp();
    const store = new PairingStore(dir);
    const t0 = new Date('2026-05-01T10:00:00Z');
    const { secret, expiresAt } = await store.create(10 * 60_000, t0);
    expect(expiresAt.toISOString()).toBe('2026-05-01T10:10:00.000Z');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(store.file, 'utf8')).not.toContain(secret);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(await store.consume('wrong-secret-xxxxxxxx', 'b', t0)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(await store.consume(secret, 'b', new Date(t0.getTime() + 60_000))).toEqual({ ok: true });
    expect(await store.consume(secret, 'c', new Date(t0.getTime() + 61_000))).toMatchObject({
      ok: false,
      reason: 'used',
      message: expect.stringMatching(/already used .* by "b"/),
    });
    const late = await store.create(1000, t0);
    expect(await store.consume(late.secret, 'b', new Date(t0.getTime() + 1000))).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    // A day later the spent entries are gone: the code is simply unknown.
    expect(await store.consume(secret, 'b', new Date(t0.getTime() + 25 * 3600_000))).toMatchObject({
      reason: 'unknown',
    });
  });
});

const peer = (over: Partial<PeerRecord> = {}): PeerRecord => ({
  name: 'a',
  url: 'https://127.0.0.1:7443/v1',
  fingerprint: FP,
  trustedLocal: false,
  models: ['big'],
  addedAt: '2026-05-01T10:00:00Z',
  ...over,
});

describe('peers as endpoints', () => {
  it('are read again when the file changes, each pinned, with its key by reference and no retries', async () => {
    const store = new PeerStore(tmp());
    expect(store.endpoints()).toEqual([]);
    await store.put(peer());
    expect(store.endpoints()).toMatchObject([
      {
        id: 'peer-a',
        url: peer().url,
        apiKeyRef: 'peer.a.apiKey',
        fingerprint: FP,
        local: false,
        retry: { maxRetries: 0 },
      },
    ]);
    await store.update('a', (p) => ({ ...p, trustedLocal: true }));
    expect(store.endpoints()[0]!.local).toBe(true);
    expect(await store.remove('a')).toBe(true);
    expect(store.endpoints()).toEqual([]);
  });

  it('count as this machine for the privacy check only when trusted-local, loopback or not', () => {
    const peers = [peer(), peer({ name: 'b', trustedLocal: true })];
    const store = { list: peers };
    const backend = new OpenAIBackend({
      getEndpoints: () => [
        { id: 'here', url: 'http://127.0.0.1:8080/v1', requestsPerMinute: 60, timeoutMs: 1000, failover: [] },
        ...store.list.map((p) => ({
          id: `peer-${p.name}`,
          url: p.url,
          requestsPerMinute: 60,
          timeoutMs: 1000,
          failover: [],
          local: p.trustedLocal,
        })),
        // A loopback endpoint that fails over to an untrusted peer leaves the machine too.
        { id: 'mixed', url: 'http://127.0.0.1:8081/v1', requestsPerMinute: 60, timeoutMs: 1000, failover: ['peer-a'] },
      ],
    });
    expect(backend.isLocal('openai:here/m')).toBe(true);
    expect(backend.isLocal('openai:peer-a/big')).toBe(false);
    expect(backend.isLocal('openai:peer-b/big')).toBe(true);
    expect(backend.isLocal('openai:mixed/m')).toBe(false);
  });
});

function plan(tier: string): InferencePlan {
  const recommended = MODEL_TIERS.find((t) => t.tier === tier)!;
  return { recommended, memoryBudgetMiB: recommended.minBudgetMiB } as unknown as InferencePlan;
}
const hw = (tier: string, gpu: PeerHardware['gpu'] = null): PeerHardware => {
  const r = MODEL_TIERS.find((t) => t.tier === tier)!;
  return {
    backend: gpu ? 'cuda' : 'cpu',
    gpu,
    memoryBudgetMiB: r.minBudgetMiB,
    recommended: { tier, label: r.label, sizeMiB: r.sizeMiB },
  };
};

describe('what probe says of peers', () => {
  const h200 = { vendor: 'nvidia', model: 'NVIDIA H200', vramMiB: 143_771 };
  it.each([
    [
      'a GPU peer, on a small machine',
      'xs',
      hw('xxl', h200),
      true,
      /NVIDIA H200, 140\.4 GiB VRAM \(cuda\).*larger than this machine can/,
    ],
    ['a peer like this machine', 's', hw('s'), false, /no GPU \(cpu\).*no larger than here/],
    ['a smaller peer', 'l', hw('xs'), false, /no larger than here/],
    ['a peer never described', 'xs', undefined, false, /hardware unknown/],
  ])('%s', (_what, localTier, hardware, larger, line) => {
    const [advice] = peerAdvice(plan(localTier), [peer(hardware ? { hardware } : {})]);
    expect(advice).toMatchObject({ name: 'a', endpoint: 'peer-a', larger });
    expect(advice!.line).toMatch(line);
  });

  it('lists the peers that run larger models first, and says when one did not answer', () => {
    const advice = peerAdvice(plan('s'), [
      peer({ name: 'small', hardware: hw('xs') }),
      peer({ name: 'big', hardware: hw('xl', h200), reachable: false, checkedAt: 'T', error: 'ECONNREFUSED' }),
    ]);
    expect(advice.map((a) => a.name)).toEqual(['big', 'small']);
    expect(advice[0]!.line).toMatch(/openai:peer-big\/<model>.*\(not reachable at T: ECONNREFUSED\)/);
  });
});

describe('the name a machine pairs under', () => {
  it.each([
    [undefined, 'Ada-MacBook.local', 'ada-macbook'],
    [undefined, 'WORKSTATION 7', 'workstation-7'],
    [undefined, '--', 'agent-room'],
    ['gpu-box', 'anything', 'gpu-box'],
  ])('peers.name %s, host %s → %s', (name, host, want) => {
    const s = defaultSettings();
    if (name) s.peers.name = name;
    expect(machineName(s, host)).toBe(want);
  });
});

/** bonjour-service's surface as peer-mdns uses it, on one in-memory "network". */
function fakeNetwork(): { make: () => Mdns; published: () => number } {
  const services = new Map<string, MdnsService>();
  return {
    published: () => services.size,
    make: () => {
      const mine: string[] = [];
      return {
        publish: (o) => {
          services.set(o.name, {
            name: o.name,
            host: 'box.local',
            port: o.port,
            addresses: ['fe80::1', '192.168.1.9'],
            txt: o.txt,
          });
          mine.push(o.name);
          return { on: () => undefined };
        },
        find: (_o, onUp) => {
          const timer = setTimeout(() => services.forEach((s) => onUp(s)), 5);
          return { stop: () => clearTimeout(timer) };
        },
        unpublishAll: (cb) => {
          for (const n of mine.splice(0)) services.delete(n);
          cb?.();
        },
        destroy: (cb) => cb?.(),
      };
    },
  };
}

describe('LAN discovery wiring', () => {
  it('announces _agent-room._tcp with the name and fingerprint, finds it at its IPv4 address, and withdraws it', async () => {
    const net = fakeNetwork();
    const ad = advertise({ name: 'a', port: 7443, fingerprint: FP }, () => undefined, net.make);
    expect(net.published()).toBe(1);
    expect(await discover(50, net.make)).toEqual([
      {
        name: 'a',
        url: 'https://192.168.1.9:7443/v1',
        addresses: ['fe80::1', '192.168.1.9'],
        host: 'box.local',
        fingerprint: FP,
      },
    ]);
    await ad.stop();
    expect(net.published()).toBe(0);
    expect(await discover(20, net.make)).toEqual([]);
  });
});
