// The supervisor after an app crash: a stale homeserver named in the pid file is stopped (an unrelated
// process that reused the pid is not), and a kept port that is now taken is replaced by a free one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderConduitToml } from '../../main/core/homeserver/conduit-config.ts';
import { fetchVersions, probeVersions } from '../../main/core/homeserver/probe.ts';
import { freePort, isAlive, waitForPidExit, writePidFile } from '../../main/core/homeserver/process-tools.ts';
import { makeSupervisor, NODE, STAND_IN, tempData } from '../support/supervisor-helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function killLater(child: ChildProcess): void {
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

describe('HomeserverSupervisor recovery', () => {
  it('stops a stale homeserver left by a crashed app, then starts its own', async () => {
    const data = tempData('sup-stale-');
    cleanups.push(data.cleanup);
    mkdirSync(data.homeserverDir, { recursive: true });
    const config = join(data.homeserverDir, 'conduit.toml');
    const port = await freePort('127.0.0.1');
    writeFileSync(
      config,
      renderConduitToml({
        serverName: 'sup.test',
        databasePath: join(data.homeserverDir, 'database'),
        databaseBackend: 'sqlite',
        address: '127.0.0.1',
        port,
        maxRequestSizeBytes: 1e6,
        logLevel: 'warn',
      }),
    );
    // The "previous run": detached, as a homeserver outliving its app would be.
    const stale = spawn(NODE, [STAND_IN], {
      env: { ...process.env, CONDUIT_CONFIG: config },
      stdio: 'ignore',
      detached: true,
    });
    killLater(stale);
    await probeVersions(`http://127.0.0.1:${port}`, { timeoutMs: 15_000 });
    const sup = makeSupervisor(data);
    cleanups.push(() => sup.stop(5000));
    await writePidFile(sup.pidFile, {
      pid: stale.pid!,
      argv: [NODE, STAND_IN],
      config,
      startedAt: new Date().toISOString(),
    });
    writeFileSync(join(data.homeserverDir, 'port'), `${port}\n`);

    await sup.start(new AbortController().signal);
    expect(await waitForPidExit(stale.pid!, 1000)).toBe(true);
    expect(sup.pid).not.toBe(stale.pid);
    // The stale one freed the kept port, so the new homeserver has it.
    expect(sup.url).toBe(`http://127.0.0.1:${port}`);
    expect(await fetchVersions(sup.url!)).toContain('v1.1');
  });

  it('never kills an unrelated process that now has the pid from the pid file', async () => {
    const data = tempData('sup-reuse-');
    cleanups.push(data.cleanup);
    const unrelated = spawn(NODE, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    killLater(unrelated);
    const sup = makeSupervisor(data);
    cleanups.push(() => sup.stop(5000));
    await writePidFile(sup.pidFile, {
      pid: unrelated.pid!,
      argv: [NODE, STAND_IN],
      config: sup.configFile,
      startedAt: new Date().toISOString(),
    });
    await sup.start(new AbortController().signal);
    expect(isAlive(unrelated.pid!)).toBe(true);
    expect(sup.state.status).toBe('running');
  });

  it('moves to a free port when the kept port is taken, and keeps the new one', async () => {
    const data = tempData('sup-port-');
    cleanups.push(data.cleanup);
    const busyPort = await freePort('127.0.0.1');
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(busyPort, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    mkdirSync(data.homeserverDir, { recursive: true });
    writeFileSync(join(data.homeserverDir, 'port'), `${busyPort}\n`);
    const sup = makeSupervisor(data);
    cleanups.push(() => sup.stop(5000));
    await sup.start(new AbortController().signal);
    const port = Number(new URL(sup.url!).port);
    expect(port).not.toBe(busyPort);
    expect(Number(readFileSync(join(data.homeserverDir, 'port'), 'utf8'))).toBe(port);
    await sup.stop(5000);
    // Next start: the new port is kept.
    const again = makeSupervisor(data);
    cleanups.push(() => again.stop(5000));
    await again.start(new AbortController().signal);
    expect(again.url).toBe(`http://127.0.0.1:${port}`);
  });
});
