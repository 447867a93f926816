// The fault cycles shared by `npm run test:faults` (few cycles, assertions) and `npm run bench:faults`
// (many cycles, figures): each drives a real serve, injects one fault while a reply streams, and returns
// what the room and the process table show afterwards.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, processesOf, waitUntil } from './procs.ts';
import { outcomes, type MentionOutcome } from './replies.ts';
import { health, Owner, provision, readJson, serviceState, startServe, waitForTimeline, type Serve } from './stack.ts';

export interface Stack {
  serve: Serve;
  owner: Owner;
  botUserId: string;
  /** Every mention sent so far (the tally covers them all at the end). */
  mentions: string[];
}

export async function openStack(dataDir: string): Promise<Stack> {
  const serve = await startServe(dataDir);
  const owner = new Owner(dataDir);
  return { serve, owner, botUserId: provision(dataDir).bots[0]!.userId, mentions: [] };
}

/** Starts serve again on the same data folder (the homeserver's port may change: the owner re-reads it). */
export async function reopen(stack: Stack): Promise<void> {
  stack.serve = await startServe(stack.serve.dataDir);
  stack.owner = new Owner(stack.serve.dataDir);
}

export function homeserverPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'homeserver', 'conduit.pid');
  if (!existsSync(file)) return undefined;
  try {
    return readJson<{ pid: number }>(file).pid;
  } catch {
    return undefined;
  }
}

/** Sends a mention and resolves once the bot's first reply message (the stream's start) is in the room. */
export async function mentionAndWaitForStream(stack: Stack, text: string, timeoutMs = 20_000): Promise<string> {
  const id = await stack.owner.mention([stack.botUserId], text);
  stack.mentions.push(id);
  await waitForTimeline(
    stack.owner,
    `a reply to ${id} to start`,
    (ev) => (outcomes(ev, [id], stack.botUserId)[0]!.replies.length > 0 ? true : undefined),
    timeoutMs,
  );
  return id;
}

/** Resolves once every mention has a reply with its final (or error) edit; returns the outcomes. */
export async function waitForAllFinal(stack: Stack, timeoutMs = 30_000): Promise<MentionOutcome[]> {
  try {
    return await waitForTimeline(
      stack.owner,
      'every mention to get its final edit',
      (ev) => {
        const list = outcomes(ev, stack.mentions, stack.botUserId);
        return list.every((o) => o.replies.some((r) => r.final)) ? list : undefined;
      },
      timeoutMs,
    );
  } catch {
    return outcomes(await stack.owner.timeline(), stack.mentions, stack.botUserId);
  }
}

async function homeserverAnswers(owner: Owner): Promise<boolean> {
  try {
    const res = await fetch(`${owner.baseUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** SIGKILLs the homeserver child while a reply streams; returns the ms until it answers again under a new pid. */
export async function homeserverKillCycle(stack: Stack, n: number): Promise<number> {
  const dir = stack.serve.dataDir;
  await mentionAndWaitForStream(stack, `tell me a long story number ${n}`);
  const pid = homeserverPid(dir);
  if (!pid) throw new Error('no homeserver pid file while serve runs');
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitUntil(
    'the homeserver to run again',
    async () => {
      const next = homeserverPid(dir);
      if (!next || next === pid) return undefined;
      if (serviceState(await health(stack.serve), 'homeserver') !== 'running') return undefined;
      return (await homeserverAnswers(stack.owner)) || undefined;
    },
    30_000,
    25,
  );
  return Date.now() - t0;
}

export interface AppKillResult {
  /** The homeserver child outlived serve's SIGKILL. */
  staleSurvived: boolean;
  /** The stale child was gone after the restart (the pid file found it). */
  staleCleared: boolean;
  /** ms from the restart's spawn until serve printed "ready". */
  restartMs: number;
}

/** SIGKILLs serve mid-reply, sends mentions while it is down, restarts it on the same data folder. */
export async function appKillCycle(stack: Stack, n: number, whileDown = 2): Promise<AppKillResult> {
  const dir = stack.serve.dataDir;
  await mentionAndWaitForStream(stack, `explain the number ${n} at length`);
  const hsPid = homeserverPid(dir);
  stack.serve.cli.child.kill('SIGKILL');
  await stack.serve.cli.exited;
  const staleSurvived = hsPid !== undefined && isAlive(hsPid);
  if (staleSurvived) {
    // The room stays reachable through the surviving homeserver: the person keeps writing.
    for (let i = 0; i < whileDown; i++)
      stack.mentions.push(await stack.owner.mention([stack.botUserId], `while you were away ${n}.${i}`));
  }
  const t0 = Date.now();
  await reopen(stack);
  const restartMs = Date.now() - t0;
  const staleCleared = hsPid === undefined || !isAlive(hsPid);
  if (!staleSurvived) {
    for (let i = 0; i < whileDown; i++)
      stack.mentions.push(await stack.owner.mention([stack.botUserId], `after the restart ${n}.${i}`));
  }
  return { staleSurvived, staleCleared, restartMs };
}

export interface QuitResult {
  exitCode: number | null;
  quitMs: number;
  /** Processes of this data folder still alive after serve exited. */
  orphans: number[];
  /** JSON files under the data folder that do not parse. */
  brokenFiles: string[];
}

/** Every *.json the app owns (settings, secrets, state) must still parse after a quit. */
export function brokenJsonFiles(dataDir: string): string[] {
  const files = ['settings.json', 'secrets.json'].map((f) => join(dataDir, f));
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.json')) files.push(join(d, e.name));
    }
  };
  walk(join(dataDir, 'state'));
  return files.filter((f) => {
    try {
      readJson(f);
      return false;
    } catch {
      return true;
    }
  });
}

/** SIGTERMs serve during a streaming reply; checks exit, leftover processes and the data files. */
export async function quitCycle(stack: Stack, n: number): Promise<QuitResult> {
  const dir = stack.serve.dataDir;
  await mentionAndWaitForStream(stack, `describe the sea ${n} in detail`);
  const t0 = Date.now();
  stack.serve.cli.child.kill('SIGTERM');
  const { code } = await stack.serve.cli.exited;
  const quitMs = Date.now() - t0;
  // The homeserver child is stopped before serve exits; give the kernel a moment to reap it.
  await new Promise((r) => setTimeout(r, 100));
  const orphans = processesOf(dir).map((p) => p.pid);
  return { exitCode: code, quitMs, orphans, brokenFiles: brokenJsonFiles(dir) };
}

export async function closeStack(stack: Stack): Promise<void> {
  if (stack.serve.cli.child.exitCode === null && stack.serve.cli.child.signalCode === null) {
    stack.serve.cli.child.kill('SIGTERM');
    await Promise.race([stack.serve.cli.exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  for (const p of processesOf(stack.serve.dataDir)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
