// The Matrix services as the app wires them (homeserver, provisioning, bots) on an encrypted team: registration
// waits out the homeserver's rate limit; the owner vouches
// for the bots after the start; a bot added in settings is provisioned, the runner restarts, a bot already in the
// room invites it with the history keys (tried again when the homeserver fails), and the owner vouches for it too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub } from '../../main/core/control/event-hub.ts';
import { InferenceService } from '../../main/core/inference/inference-service.ts';
import { ServiceHost } from '../../main/core/lifecycle/service-host.ts';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { buildMatrixServices, type MatrixServices } from '../../main/core/app/matrix-services.ts';
import { dataPaths } from '../../main/core/paths.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { ConfSettingsStore } from '../../main/core/settings/settings-store.ts';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';

const TOKEN = 'svc-registration-token';
let hs: Homeserver;
let dir: string;
let host: ServiceHost;
let services: MatrixServices;
let settings: ConfSettingsStore;
const { logger, records } = createMemoryLogger('info');

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what}; warnings: ${JSON.stringify(records.filter((r) => (r.level as number) >= 40).slice(-5))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function membership(roomId: string, userId: string): Promise<string | undefined> {
  const session = (await services.ownerSession())!;
  const res = await fetch(
    `${hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(userId)}`,
    { headers: { authorization: `Bearer ${session.accessToken}` } },
  );
  return res.ok ? ((await res.json()) as { membership: string }).membership : undefined;
}

beforeAll(async () => {
  hs = await startHomeserver({ serverName: 'svc.local', registrationToken: TOKEN });
  dir = mkdtempSync(join(tmpdir(), 'matrix-services-'));
  const paths = dataPaths(dir);
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      version: 1,
      room: { encrypted: true },
      bots: [{ id: 'alpha', displayName: 'Alpha', model: 'ollama:tiny' }],
    }),
  );
  settings = new ConfSettingsStore({ dataDir: dir, logger });
  const secrets = new MemorySecretStore();
  // Not started: no mention is sent here, so the bots never ask for inference.
  const inference = new InferenceService({
    getSettings: () => settings.get(),
    getPlan: () => Promise.reject(new Error('not used')),
    modelsDir: paths.models,
    resolveSecret: async () => undefined,
  });
  services = buildMatrixServices({
    paths,
    logger,
    settings,
    secrets,
    inference,
    events: new EventHub(),
    resourcesDir: dir,
    overrides: { homeserverUrl: hs.url, registrationToken: TOKEN },
    inviteRetryDelaysMs: [300, 300],
  });
  host = new ServiceHost().add(services.homeserver).add(services.provisioning).add(services.bots!);
  // As a stock Synapse does: few registrations in a row. Provisioning waits them out.
  hs.setRateLimit({ maxRequests: 1, windowMs: 400, path: '/register' });
  await host.start();
  hs.setRateLimit(undefined);
}, 60_000);

afterAll(async () => {
  await host?.stop(10_000);
  await hs?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Matrix services on an encrypted team', () => {
  it("waited out the homeserver's rate limit while registering the team", () => {
    expect(
      records.filter((r) => r.msg === 'the homeserver asks to slow down; sending again after the wait').length,
    ).toBeGreaterThanOrEqual(1);
    expect(services.provisioning.result!.bots.map((b) => b.userId)).toEqual(['@alpha:svc.local']);
  });

  it('vouches for the bots once they have started', async () => {
    const result = await services.bots!.ownerTrust;
    expect(result).toEqual({ verified: ['@alpha:svc.local'], already: [], skipped: [], failed: [], ownerDevices: [] });
  }, 30_000);

  it('invites a bot added later with the history keys, trying again when the homeserver fails, and vouches for it', async () => {
    const roomId = services.provisioning.result!.roomId;
    // The SDK's invite and the plain fallback both fail once: the whole invite is tried again.
    hs.faults.push({
      path: `/rooms/${encodeURIComponent(roomId)}/invite`,
      method: 'POST',
      respond: 'error500',
      times: 2,
    });
    settings.update((s) => ({ ...s, bots: [...s.bots, { ...s.bots[0]!, id: 'beta', displayName: 'Beta' }] }));
    await until(
      'beta to join the team room',
      async () => ((await membership(roomId, '@beta:svc.local')) === 'join' ? true : undefined),
      40_000,
    );
    expect(records.some((r) => r.msg === 'inviting the new bots failed; trying again')).toBe(true);
    expect(hs.faults.find((f) => f.path === `/rooms/${encodeURIComponent(roomId)}/invite`)?.times).toBe(0);
    // The runner restarted with both bots; the owner vouches for the newcomer and finds alpha already signed.
    expect(services.bots!.runner?.workers.map((w) => w.account.id)).toEqual(['alpha', 'beta']);
    const result = await services.bots!.ownerTrust;
    expect(result).toEqual({
      verified: ['@beta:svc.local'],
      already: ['@alpha:svc.local'],
      skipped: [],
      failed: [],
      ownerDevices: [],
    });
  }, 60_000);

  it('vouches again on request (after the recovery key was given in the window): nothing left to sign', async () => {
    services.revouch();
    expect(await services.bots!.ownerTrust).toEqual({
      verified: [],
      already: ['@alpha:svc.local', '@beta:svc.local'],
      skipped: [],
      failed: [],
      ownerDevices: [],
    });
  }, 30_000);
});
