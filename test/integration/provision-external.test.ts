// External mode: no child process; the homeserver URL and registration token come from settings, the
// secret store or the command line, and provisioning runs against it as against the bundled one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsSchema } from '../../main/common/settings-schema.ts';
import { HomeserverUnreachableError } from '../../main/core/homeserver/errors.ts';
import { ExternalHomeserver } from '../../main/core/homeserver/external.ts';
import { freePort } from '../../main/core/homeserver/process-tools.ts';
import { ServiceHost } from '../../main/core/lifecycle/service-host.ts';
import { ProvisioningService } from '../../main/core/provisioning/provisioner.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { startHomeserver, type Homeserver } from '../support/homeserver/index.ts';

let server: Homeserver;
let dir: string;
beforeAll(async () => {
  server = await startHomeserver({ serverName: 'ext.test', registrationToken: 'ext-token' });
  dir = mkdtempSync(join(tmpdir(), 'provision-ext-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('external homeserver', () => {
  it('checks /versions, reads the token from the secret store, and provisions the team through the ServiceHost', async () => {
    const secrets = new MemorySecretStore({ 'homeserver.registrationToken': 'ext-token' });
    const homeserver = new ExternalHomeserver({ url: `${server.url}/`, secrets });
    const settings = settingsSchema.parse({ bots: [{ id: 'helper', displayName: 'Helper', model: 'ollama:tiny' }] });
    const provisioning = new ProvisioningService({
      homeserver,
      secrets,
      stateDir: join(dir, 'state'),
      settings: () => settings,
    });
    const host = new ServiceHost().add(homeserver).add(provisioning);
    await host.start();
    expect(homeserver.state).toEqual({ status: 'running', detail: server.url });
    expect(homeserver.versions.length).toBeGreaterThan(0);
    const result = provisioning.result!;
    expect(result.serverName).toBe('ext.test');
    expect(result.bots.map((b) => b.userId)).toEqual(['@helper:ext.test']);
    expect(server.hs.store.users.has('@owner:ext.test')).toBe(true);
    await host.stop(2000);
    expect(homeserver.state.status).toBe('stopped');
  });

  it('prefers a token given on the command line', async () => {
    const homeserver = new ExternalHomeserver({
      url: server.url,
      secrets: new MemorySecretStore({ 'homeserver.registrationToken': 'stale' }),
      registrationToken: 'from-cli',
    });
    await homeserver.start(new AbortController().signal);
    expect(homeserver.registrationToken).toBe('from-cli');
  });

  it('fails clearly for an unreachable URL and for a URL that is not a homeserver', async () => {
    const port = await freePort('127.0.0.1');
    const down = new ExternalHomeserver({ url: `http://127.0.0.1:${port}`, secrets: new MemorySecretStore() });
    await expect(down.start(new AbortController().signal)).rejects.toBeInstanceOf(HomeserverUnreachableError);
    expect(down.state).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/cannot be reached: ECONNREFUSED/),
      hint: expect.stringMatching(/Check the URL/),
    });

    const notMatrix = new ExternalHomeserver({ url: `${server.url}/not-here`, secrets: new MemorySecretStore() });
    await expect(notMatrix.start(new AbortController().signal)).rejects.toThrow(/cannot be reached: HTTP 404/);
    const ftp = new ExternalHomeserver({ url: 'ftp://example.invalid', secrets: new MemorySecretStore() });
    await expect(ftp.start(new AbortController().signal)).rejects.toThrow(/only http and https/);
  });
});
