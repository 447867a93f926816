// The peer listener as a service (no model behind it: pairing and its errors need none): in the desktop app it opens
// only once api.enabled is on; it answers over TLS with its kept certificate, refuses /peer/info without a key and
// unknown paths in the API's error shape, pairs once per code (the key it makes works for /peer/info and /v1), keeps
// its port across restarts, announces itself on the LAN while peers.advertise is on (a fake bonjour-service), and
// closes when peers.enabled goes off.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHandler } from '../../main/core/api/api-handler.ts';
import { ApiKeyStore } from '../../main/core/api/api-keys.ts';
import { PairingStore } from '../../main/core/peers/pairing-store.ts';
import { pairWith } from '../../main/core/peers/peer-client.ts';
import type { Mdns } from '../../main/core/peers/peer-mdns.ts';
import { PeerService } from '../../main/core/peers/peer-service.ts';
import { pinnedFetch } from '../../main/core/peers/pinned-fetch.ts';
import { ensurePeerCertificate } from '../../main/core/peers/peer-tls.ts';
import type { InferencePlan } from '../../main/core/probe/plan.ts';
import { MODEL_TIERS } from '../../main/core/probe/plan.ts';
import { ConfSettingsStore } from '../../main/core/settings/settings-store.ts';

let dir: string;
let settings: ConfSettingsStore;
let keys: ApiKeyStore;
let service: PeerService;
const announced: string[] = [];

const fakeMdns = (): Mdns => ({
  publish: (o) => {
    announced.push(`${o.name}:${o.port}`);
    return { on: () => undefined };
  },
  find: () => ({ stop: () => undefined }),
  unpublishAll: (cb) => {
    announced.length = 0;
    cb?.();
  },
  destroy: (cb) => cb?.(),
});

const plan = {
  backend: 'cuda',
  gpu: { vendor: 'nvidia', model: 'NVIDIA H200', vramMiB: 143_771 },
  memoryBudgetMiB: 120_000,
  recommended: MODEL_TIERS.at(-1),
} as unknown as InferencePlan;

function makeService(): PeerService {
  const api = new ApiHandler({
    settings: () => settings.get(),
    keys,
    inference: {
      get router(): never {
        throw new Error('not started');
      },
      listModels: async () => [],
      embed: () => Promise.reject(new Error('no')),
    },
  });
  return new PeerService({
    stateDir: join(dir, 'state'),
    settings,
    api,
    keys,
    getPlan: async () => ({ plan }),
    shell: 'desktop',
    mdns: fakeMdns,
  });
}

const detail = () => (service.state.status === 'running' ? (service.state.detail ?? '') : service.state.status);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'peer-service-'));
  settings = new ConfSettingsStore({ dataDir: dir, logger: { info() {}, warn() {} } });
  settings.update((s) => ({ ...s, peers: { ...s.peers, name: 'desk', advertise: true } }));
  keys = new ApiKeyStore({ file: join(dir, 'state', 'api-keys.json') });
  service = makeService();
  await service.start(new AbortController().signal);
});

afterAll(async () => {
  await service?.stop(1000);
});

describe('the peer listener', () => {
  it('stays closed in the desktop app until api.enabled is on, then serves TLS with the kept certificate', async () => {
    expect(service.url).toBeUndefined();
    expect(detail()).toBe('off (api.enabled is false)');
    settings.update((s) => ({ ...s, api: { ...s.api, enabled: true } }));
    await waitFor(() => service.url !== undefined);
    expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(detail()).toMatch(/announced on the LAN/);
    expect(announced).toEqual([`agent-room-desk:${new URL(service.url!).port}`]);
    const cert = await ensurePeerCertificate(join(dir, 'state'));
    expect(service.fingerprint).toBe(cert.fingerprint);
  });

  it('answers in the API’s error shape: /peer/info needs a key, an unknown path is 404, a bad pairing body 400', async () => {
    const f = pinnedFetch({ fingerprint: service.fingerprint });
    const base = new URL(service.url!).origin;
    const info = await f(`${base}/peer/info`);
    expect(info.status).toBe(401);
    expect(await info.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    const unknown = await f(`${base}/nowhere`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_url' } });
    const bad = await f(`${base}/peer/pair`, { method: 'POST', body: '{"secret": 5}' });
    expect(bad.status).toBe(400);
    const models = await f(`${base}/v1/models`);
    expect(models.status).toBe(401);
  });

  it('pairs once per code: the key it makes (peer:<name>) opens /peer/info, and pairing again replaces it', async () => {
    const pairing = new PairingStore(join(dir, 'state'));
    const code = async () => ({
      url: service.url!,
      secret: (await pairing.create()).secret,
      fingerprint: service.fingerprint,
      name: 'desk',
    });
    const first = await pairWith({ url: service.url!, code: await code(), myName: 'laptop', connectTimeoutMs: 1000 });
    expect(first).toMatchObject({ name: 'desk', keyName: 'peer:laptop', models: [] });
    expect(first.hardware).toMatchObject({ backend: 'cuda', gpu: { model: 'NVIDIA H200' } });
    const f = pinnedFetch({ fingerprint: service.fingerprint });
    const info = await f(new URL('/peer/info', service.url).href, {
      headers: { authorization: `Bearer ${first.key}` },
    });
    expect(await info.json()).toMatchObject({ name: 'desk', hardware: { memoryBudgetMiB: 120_000 } });
    const second = await pairWith({ url: service.url!, code: await code(), myName: 'laptop', connectTimeoutMs: 1000 });
    expect(await keys.verify(first.key)).toBeUndefined();
    expect(await keys.verify(second.key)).toBe('peer:laptop');
  });

  it('keeps its port across a restart, and closes (and withdraws its announcement) when peers.enabled goes off', async () => {
    const port = new URL(service.url!).port;
    await service.stop(1000);
    expect(announced).toEqual([]);
    service = makeService();
    await service.start(new AbortController().signal);
    expect(new URL(service.url!).port).toBe(port);
    settings.update((s) => ({ ...s, peers: { ...s.peers, enabled: false } }));
    await waitFor(() => service.url === undefined);
    expect(detail()).toBe('off (peers.enabled is false)');
    expect(announced).toEqual([]);
  });
});

async function waitFor(probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
