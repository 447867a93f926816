// One Agent Room per data folder, with real `agent-room serve` processes and the test homeserver standing in
// for Conduit: a second serve exits 1 naming the first and touches nothing (the first keeps its homeserver and
// stays healthy); the CLI commands that write settings or secrets refuse while it runs; a SIGKILLed serve's
// folder is taken over at once by the next start; and serve run as the systemd unit's main process stops on
// SIGTERM with its homeserver.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataFolderHolder } from '../../main/core/lifecycle/data-folder-lock.ts';
import { repoRoot, runCli, startCli, startProcess, type RunningCli } from '../support/cli.ts';
import { isAlive, processesOf } from '../support/faults/procs.ts';
import { standIn } from '../support/faults/stack.ts';

const running: RunningCli[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.child.kill('SIGKILL');
});

const env = { AGENT_ROOM_CONDUIT: standIn };
const START = /Agent Room is ready\.|Agent Room started with problems:|Start failed/;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'agent-room-folder-'));
}

/** Waits for the chat window line and the start-up verdict; returns the control URL. */
async function started(cli: RunningCli): Promise<string> {
  running.push(cli);
  const m = await cli.waitFor(/Chat window: (http:\/\/127\.0\.0\.1:\d+)\/#token=/, 60_000);
  expect((await cli.waitFor(START, 60_000))[0]).toBe('Agent Room is ready.');
  return m[1]!;
}

function homeserverPid(dir: string): number {
  return (JSON.parse(readFileSync(join(dir, 'homeserver', 'conduit.pid'), 'utf8')) as { pid: number }).pid;
}

async function health(
  url: string,
): Promise<{ status: string; services: Array<{ name: string; state: { status: string } }> }> {
  return (await (await fetch(`${url}/health`)).json()) as never;
}

describe('one Agent Room per data folder', () => {
  it('a second serve exits 1 naming the first, which keeps its homeserver and stays healthy; writing commands refuse', async () => {
    const dir = tempDir();
    const first = startCli(['--data-dir', dir, 'serve', '--port', '0', '--no-bots'], env);
    const url = await started(first);
    const hsPid = homeserverPid(dir);
    const settingsBefore = readFileSync(join(dir, 'settings.json'), 'utf8');

    const second = await runCli(['--data-dir', dir, 'serve', '--port', '0', '--no-bots'], env);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`Agent Room already runs on this data folder (pid ${first.child.pid}, ${url})`);
    expect(second.output).not.toContain('Chat window');

    const refusal = `Agent Room already runs on this data folder (pid ${first.child.pid}, ${url}). Nothing was changed:`;
    const imported = await runCli([
      '--data-dir',
      dir,
      'import',
      join(repoRoot, 'test/fixtures/import/three-bots.yaml'),
    ]);
    expect(imported).toMatchObject({ code: 1 });
    expect(imported.output).toContain(refusal);
    expect(imported.output).toMatch(/stop it first/);
    const password = await runCli(['--data-dir', dir, 'set-password', 'owner']);
    expect(password.code).toBe(1);
    expect(password.output).toContain(refusal);
    const recovery = await runCli(['--data-dir', dir, 'set-recovery-key']);
    expect(recovery.code).toBe(1);
    expect(recovery.output).toMatch(/Nothing was changed: give the key in its chat window \(Settings → Encryption\)/);
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(settingsBefore);

    // The first is untouched: the same homeserver child, every service running.
    expect(homeserverPid(dir)).toBe(hsPid);
    expect(isAlive(hsPid)).toBe(true);
    const h = await health(url);
    expect(h.status).toBe('ok');
    expect(h.services.find((s) => s.name === 'homeserver')?.state.status).toBe('running');
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });

  it("after a SIGKILLed serve the next start takes the folder at once; as the systemd unit's main process it stops on SIGTERM with its homeserver", async () => {
    const dir = tempDir();
    const killed = startCli(['--data-dir', dir, 'serve', '--port', '0', '--no-bots'], env);
    await started(killed);
    const staleHs = homeserverPid(dir);
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(isAlive(staleHs)).toBe(true); // left behind, as after a crash

    // The documented service command, exactly as resources/linux/agent-room.service runs it.
    const unit = readFileSync(join(repoRoot, 'resources/linux/agent-room.service'), 'utf8');
    const execStart = /^ExecStart=(.+)$/m.exec(unit)![1]!.replaceAll('%h/agent-room', repoRoot).split(' ');
    expect(execStart.slice(1)).toEqual([join(repoRoot, 'bin/agent-room.js'), 'serve']);
    expect(unit).toMatch(/^KillMode=mixed$/m);
    const service = startProcess(execStart[0]!, [...execStart.slice(1), '--port', '0', '--no-bots'], {
      ...env,
      AGENT_ROOM_DATA_DIR: dir,
    });
    await started(service);
    expect(service.output()).not.toContain('already runs');
    // The homeserver the killed serve left was stopped (under the lock) and a new one runs.
    expect(isAlive(staleHs)).toBe(false);
    const hs = homeserverPid(dir);
    expect(hs).not.toBe(staleHs);
    expect(isAlive(hs)).toBe(true);

    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(hs)).toBe(false);
    expect(processesOf(dir)).toEqual([]);
    // The folder is free again.
    expect(dataFolderHolder(dir)).toBeUndefined();
  });
});
