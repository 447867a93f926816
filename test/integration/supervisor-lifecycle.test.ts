// The supervisor with a real child process (the Conduit stand-in): readiness, restart after SIGKILL,
// crash loop, clean stop, and a missing binary.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConduitBinaryNotFoundError } from '../../main/core/homeserver/binary.ts';
import { HomeserverCrashLoopError } from '../../main/core/homeserver/errors.ts';
import { isAlive } from '../../main/core/homeserver/process-tools.ts';
import { REGISTRATION_TOKEN_SECRET, type HomeserverSupervisor } from '../../main/core/homeserver/supervisor.ts';
import { MemorySecretStore } from '../../main/core/settings/secret-store.ts';
import { makeSupervisor, NODE, tempData, waitForState } from '../support/supervisor-helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track(sup: HomeserverSupervisor, cleanup: () => void): HomeserverSupervisor {
  cleanups.push(cleanup, () => sup.stop(5000));
  return sup;
}

describe('HomeserverSupervisor', () => {
  it('counts as running only once /versions answers, writes the config, and stops leaving no process', async () => {
    const data = tempData('sup-life-');
    const secrets = new MemorySecretStore();
    const sup = track(
      makeSupervisor(data, { secrets, env: { ...process.env, STAND_IN_READY_DELAY_MS: '1200' } }),
      data.cleanup,
    );
    const states: string[] = [];
    sup.onStateChange((s) => states.push(s.status));
    const started = Date.now();
    const starting = sup.start(new AbortController().signal);
    await new Promise((r) => setTimeout(r, 600));
    expect(sup.state.status).toBe('starting'); // the child runs but does not answer yet
    await starting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    expect(sup.state).toEqual({ status: 'running', detail: sup.url });
    expect((await fetch(`${sup.url}/_matrix/client/versions`)).status).toBe(200);

    const toml = readFileSync(sup.configFile, 'utf8');
    const token = await secrets.get(REGISTRATION_TOKEN_SECRET);
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(sup.registrationToken).toBe(token);
    expect(toml).toContain(`registration_token = "${token}"`);
    expect(toml).toContain('allow_federation = false');
    expect(toml).toContain('address = "127.0.0.1"');
    expect(sup.serverName).toBe('sup.test');
    expect(existsSync(sup.pidFile)).toBe(true);

    const pid = sup.pid!;
    await sup.stop(5000);
    expect(sup.state.status).toBe('stopped');
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(sup.pidFile)).toBe(false);
    expect(states).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(readFileSync(sup.logFile, 'utf8')).toContain('Listening on 127.0.0.1');
  });

  it('restarts a SIGKILLed homeserver within 2 s', async () => {
    const data = tempData('sup-kill-');
    const sup = track(makeSupervisor(data), data.cleanup);
    await sup.start(new AbortController().signal);
    const firstPid = sup.pid!;
    const url = sup.url;
    const killedAt = Date.now();
    process.kill(firstPid, 'SIGKILL');
    await waitForState(sup, 'degraded', 2000);
    await waitForState(sup, 'running', 2000);
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(sup.pid).not.toBe(firstPid);
    expect(sup.url).toBe(url); // the port is kept
    expect((await fetch(`${sup.url}/_matrix/client/versions`)).status).toBe(200);
  });

  it('gives up on a crash loop and shows the error in its state', async () => {
    const data = tempData('sup-loop-');
    const sup = track(
      makeSupervisor(data, {
        command: { command: NODE, args: ['-e', 'console.error("database is corrupt"); process.exit(3)'] },
        restartPolicy: { initialBackoffMs: 20, maxCrashes: 3, windowMs: 60_000 },
      }),
      data.cleanup,
    );
    const start = sup.start(new AbortController().signal);
    await expect(start).rejects.toBeInstanceOf(HomeserverCrashLoopError);
    expect(sup.state.status).toBe('failed');
    const state = sup.state as { error: string; hint?: string };
    expect(state.error).toMatch(/crashed 3 times within 60 s.*exit code 3.*database is corrupt/);
    expect(state.hint).toContain('homeserver.log');
  });

  it('fails with a hint when no Conduit binary is found', async () => {
    const data = tempData('sup-nobin-');
    const sup = track(makeSupervisor(data, { command: undefined, resourcesDir: data.root, env: {} }), data.cleanup);
    await expect(sup.start(new AbortController().signal)).rejects.toBeInstanceOf(ConduitBinaryNotFoundError);
    expect(sup.state.status).toBe('failed');
    expect((sup.state as { hint: string }).hint).toMatch(
      /npm run fetch-conduit.*--homeserver-url URL --registration-token T/,
    );
  });
});
