// The data folder's lock: held while its holder lives, free the moment it dies (no age, no wait), a reused pid
// does not count, and when many processes start at once exactly one wins, on a fresh folder and over a dead
// holder's lock alike. Contenders are real processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { whileHoldingDataFolder } from '../../main/cli/data-folder-guard.ts';
import {
  acquireDataFolderLock,
  DataFolderLockedError,
  holderAlive,
  lockDir,
  processStartId,
  type LockRecord,
} from '../../main/core/lifecycle/data-folder-lock.ts';

const contender = join(import.meta.dirname, '..', 'support', 'lock-contender.ts');
const children: ChildProcess[] = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-room-lock-'));
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Contender {
  child: ChildProcess;
  /** Resolves with the next line the contender prints. */
  next(): Promise<string>;
  exited: Promise<unknown>;
}

function startContender(holder = 'serve'): Contender {
  const child = spawn(process.execPath, ['--no-warnings', contender, dir, holder], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // A contender that dies says so instead of leaving the test waiting.
  void exited.then((code) => {
    for (const w of waiting.splice(0)) w(`exited ${String(code)}`);
  });
  return {
    child,
    exited,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))),
  };
}

/** Starts n contenders, lets them all try at once, and returns what each got. */
async function race(n: number): Promise<string[]> {
  const all = Array.from({ length: n }, () => startContender());
  for (const c of all) expect(await c.next()).toBe('ready');
  for (const c of all) c.child.stdin!.write('go\n');
  return Promise.all(all.map((c) => c.next()));
}

/** A process that ran and is gone now: its pid is dead. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function writeRecord(generation: number, record: LockRecord): void {
  mkdirSync(lockDir(dir), { recursive: true });
  writeFileSync(join(lockDir(dir), `${generation}.json`), JSON.stringify(record));
}

describe('data folder lock', () => {
  it('is held while its holder lives, names it (and its control URL), and is free after release', () => {
    const lock = acquireDataFolderLock(dir, { holder: 'serve' });
    expect(() => acquireDataFolderLock(dir, { holder: 'serve' })).toThrow(
      `Agent Room already runs on this data folder (pid ${process.pid}, agent-room serve, still starting)`,
    );
    lock.update({ controlUrl: 'http://127.0.0.1:8765' });
    let error: unknown;
    try {
      acquireDataFolderLock(dir, { holder: 'desktop' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DataFolderLockedError);
    expect((error as DataFolderLockedError).message).toBe(
      `Agent Room already runs on this data folder (pid ${process.pid}, http://127.0.0.1:8765)`,
    );
    expect((error as DataFolderLockedError).hint).toMatch(/stop it first, or choose another folder with --data-dir/);
    lock.release();
    const again = acquireDataFolderLock(dir, { holder: 'desktop' });
    expect(again.record.holder).toBe('desktop');
    // Older generations are tidied away: one file holds the folder.
    expect(readdirSync(lockDir(dir))).toEqual([again.file.split('/').pop()]);
    again.release();
  });

  it('a holder killed with SIGKILL frees the folder for the very next start', async () => {
    const holder = startContender();
    expect(await holder.next()).toBe('ready');
    holder.child.stdin!.write('go\n');
    expect(await holder.next()).toBe('won');
    expect(() => acquireDataFolderLock(dir, { holder: 'serve' })).toThrow(
      `(pid ${holder.child.pid}, agent-room serve, still starting)`,
    );
    holder.child.kill('SIGKILL');
    await holder.exited;
    // Just killed: no age to wait out.
    const lock = acquireDataFolderLock(dir, { holder: 'serve' });
    expect(lock.record.pid).toBe(process.pid);
    lock.release();
  });

  it("a live process that reuses a dead holder's pid does not hold the folder; an unreadable lock does not either", async () => {
    const now: LockRecord = {
      pid: process.pid,
      startId: processStartId(process.pid)!,
      holder: 'serve',
      startedAt: new Date().toISOString(),
    };
    expect(now.startId).toBeDefined();
    expect(holderAlive(now)).toBe(true);
    expect(holderAlive({ ...now, startId: 'another-boot:12345' })).toBe(false);
    expect(holderAlive({ ...now, pid: await deadPid() })).toBe(false);
    writeRecord(7, { ...now, startId: 'another-boot:12345' });
    const lock = acquireDataFolderLock(dir, { holder: 'serve' });
    expect(lock.file.endsWith('8.json')).toBe(true);
    lock.release();
    writeFileSync(join(lockDir(dir), '9.json'), '');
    acquireDataFolderLock(dir, { holder: 'serve' }).release();
  });

  it('eight processes starting at once on a fresh folder: exactly one wins, the others name it', async () => {
    const results = await race(8);
    const winners = results.filter((r) => r === 'won');
    expect(winners).toHaveLength(1);
    const winnerPid = children[results.indexOf('won')]!.pid;
    expect(results.filter((r) => r !== 'won')).toEqual(Array(7).fill(`held ${winnerPid}`));
  });

  it("eight processes taking over a dead holder's lock at once: exactly one wins", async () => {
    writeRecord(3, { pid: await deadPid(), holder: 'serve', startedAt: new Date().toISOString() });
    const results = await race(8);
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r.startsWith('held '))).toHaveLength(7);
  });
});

describe('CLI commands that write settings or secrets', () => {
  it('refuse while an app runs on the folder, run nothing, and say what to do', async () => {
    const serve = acquireDataFolderLock(dir, { holder: 'serve', controlUrl: 'http://127.0.0.1:8765' });
    const said: string[] = [];
    let ran = false;
    const code = await whileHoldingDataFolder(
      { dataDir: dir, command: 'import', whileRunning: 'stop it first.' },
      async () => {
        ran = true;
        return 0;
      },
      (l) => said.push(l),
    );
    expect(code).toBe(1);
    expect(ran).toBe(false);
    expect(said).toEqual([
      `Agent Room already runs on this data folder (pid ${process.pid}, http://127.0.0.1:8765). Nothing was changed: stop it first.`,
    ]);
    serve.release();
    // Free again: the command runs, holding the folder meanwhile (an app starting now would be refused).
    expect(
      await whileHoldingDataFolder({ dataDir: dir, command: 'import', whileRunning: '' }, async () => {
        expect(() => acquireDataFolderLock(dir, { holder: 'serve' })).toThrow(/the `agent-room import` command/);
        return 0;
      }),
    ).toBe(0);
    acquireDataFolderLock(dir, { holder: 'serve' }).release();
  });
});
