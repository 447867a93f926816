// The Conduit child process: spawned with its output redacted into the homeserver log and its pid recorded, stopped
// with SIGTERM then SIGKILL, and one left running by an earlier run stopped, but only if it really is ours.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../logging/logger.ts';
import { RedactingLineBuffer } from '../logging/redact-text.ts';
import type { SpawnCommand } from './binary.ts';
import {
  isAlive,
  isOurHomeserver,
  readPidFile,
  readProcessIdentity,
  removePidFile,
  waitForPidExit,
  writePidFile,
} from './process-tools.ts';
import type { RotatingLog } from './rotating-log.ts';

export interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The child's last output (unredacted), for error messages. */
  output: string;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  configFile: string;
  pidFile: string;
  log: RotatingLog;
  /** Redacted from the log besides what looks like a token or password: the registration token. */
  secrets: () => Array<string | undefined>;
}

export function spawnConduit(cmd: SpawnCommand, o: SpawnOptions): Running {
  const child = spawn(cmd.command, cmd.args, {
    env: { ...o.env, CONDUIT_CONFIG: o.configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  // Conduit's own text, redacted as the app log is: its registration token, access tokens, passwords.
  const log = new RedactingLineBuffer((text) => {
    try {
      o.log.write(text);
    } catch {
      // A full disk must not take the homeserver down with it.
    }
  }, o.secrets);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    child.once('error', (err) => {
      running.output += `\n${err.message}`;
      resolve({ code: null, signal: null });
    });
  });
  const running: Running = { child, exited, output: '' };
  const onData = (chunk: Buffer) => {
    running.output = (running.output + chunk.toString('utf8')).slice(-4000);
    log.push(chunk);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.once('close', () => log.flush());
  if (child.pid) {
    void writePidFile(o.pidFile, {
      pid: child.pid,
      argv: [cmd.command, ...cmd.args],
      config: o.configFile,
      startedAt: new Date().toISOString(),
    }).catch(() => undefined);
  }
  return running;
}

/** SIGTERM, wait up to graceMs, then SIGKILL; resolves once the child is gone. */
export async function killChild(running: Running, graceMs: number, logger: Logger | undefined): Promise<void> {
  const { child, exited } = running;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') {
      logger?.warn({ pid: child.pid }, 'the homeserver ignored SIGTERM; killing it');
      child.kill('SIGKILL');
      await exited;
    }
  }
  await exited;
}

/** A homeserver from a previous run that was not stopped: stop it, but only if it really is ours. */
export async function stopStale(pidFile: string, graceMs: number, logger: Logger | undefined): Promise<void> {
  const record = await readPidFile(pidFile);
  if (!record) return;
  if (isAlive(record.pid)) {
    const identity = await readProcessIdentity(record.pid);
    if (isOurHomeserver(identity, record)) {
      logger?.warn({ pid: record.pid }, 'stopping a homeserver left running by an earlier run');
      process.kill(record.pid, 'SIGTERM');
      if (!(await waitForPidExit(record.pid, graceMs))) {
        process.kill(record.pid, 'SIGKILL');
        await waitForPidExit(record.pid, 2000);
      }
    } else {
      logger?.info(
        { pid: record.pid },
        'the pid in the homeserver pid file belongs to another process now; leaving it alone',
      );
    }
  }
  await removePidFile(pidFile);
}
