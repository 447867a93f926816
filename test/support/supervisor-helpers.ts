// Shared setup for the homeserver supervisor tests: the Conduit stand-in as the child command, temp data dirs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SpawnCommand } from '../../main/core/homeserver/binary.ts';
import { HomeserverSupervisor, type SupervisorOptions } from '../../main/core/homeserver/supervisor.ts';
import type { ServiceState } from '../../main/core/lifecycle/service.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';

export const NODE = resolve('node_modules/.bin/node');
export const STAND_IN = resolve('test/support/homeserver/conduit-stand-in.ts');
export const standInCommand: SpawnCommand = { command: NODE, args: [STAND_IN] };

export function tempData(prefix: string): {
  root: string;
  homeserverDir: string;
  logsDir: string;
  cleanup: () => void;
} {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return {
    root,
    homeserverDir: join(root, 'homeserver'),
    logsDir: join(root, 'logs'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function makeSupervisor(
  dirs: { homeserverDir: string; logsDir: string },
  extra: Partial<SupervisorOptions> = {},
): HomeserverSupervisor {
  return new HomeserverSupervisor({
    homeserverDir: dirs.homeserverDir,
    logsDir: dirs.logsDir,
    settings: { serverName: 'sup.test', port: 0, lanAccess: false },
    secrets: new MemorySecretStore(),
    command: standInCommand,
    databaseBackend: 'sqlite',
    readyTimeoutMs: 20_000,
    stopGraceMs: 3000,
    ...extra,
  });
}

/** Resolves with the first state that matches, or rejects after timeoutMs. */
export function waitForState(
  service: { state: ServiceState; onStateChange(l: (s: ServiceState) => void): () => void },
  want: ServiceState['status'],
  timeoutMs: number,
): Promise<ServiceState> {
  if (service.state.status === want) return Promise.resolve(service.state);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`state stayed ${JSON.stringify(service.state)}; wanted ${want}`));
    }, timeoutMs);
    const off = service.onStateChange((s) => {
      if (s.status !== want) return;
      clearTimeout(timer);
      off();
      resolvePromise(s);
    });
  });
}
