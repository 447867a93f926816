// Runs the built CLI (dist/, made by `npm run build` or the vitest global setup) as a real child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const nodeBin = process.execPath;
export const cliPath = join(repoRoot, 'bin', 'agent-room.js');

export interface RunningCli {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of the pattern in the output. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  return startProcess(nodeBin, [cliPath, ...args], env);
}

/** Any command (e.g. the systemd unit's ExecStart), run from the repository root with its output captured. */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern);
        if (m) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`Timed out waiting for ${pattern} in:\n${out}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { child, output: () => out, waitFor, exited };
}

export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const cli = startCli(args, env);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
  const { code } = await cli.exited;
  clearTimeout(timer);
  return { code, output: cli.output() };
}
