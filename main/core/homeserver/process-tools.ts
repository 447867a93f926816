// Pid file, process identity and port checks for the homeserver child. A pid in the pid file is killed
// only when its command line (and, on Linux, its CONDUIT_CONFIG) shows it is our homeserver, because
// after a reboot or a long time the same pid may belong to an unrelated process.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from '../logging/logger.ts';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

export interface PidRecord {
  pid: number;
  /** argv as spawned: the command and its arguments. */
  argv: string[];
  /** The CONDUIT_CONFIG the child was started with. */
  config: string;
  startedAt: string;
}

export async function writePidFile(file: string, record: PidRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(record)}\n`, 'utf8');
}

export async function readPidFile(file: string): Promise<PidRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<PidRecord>;
    if (typeof parsed.pid !== 'number' || !Array.isArray(parsed.argv) || typeof parsed.config !== 'string')
      return undefined;
    return parsed as PidRecord;
  } catch {
    return undefined;
  }
}

export async function removePidFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else (so it is not ours either way).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ProcessIdentity {
  /** argv of the running process, or undefined when it cannot be read. */
  argv?: string[];
  /** Its environment, when readable (Linux /proc/<pid>/environ, same user). */
  env?: Record<string, string>;
}

function splitNul(text: string): string[] {
  return text.split('\0').filter((s) => s.length > 0);
}

/** Reads /proc/<pid>/cmdline and environ on Linux, `ps` elsewhere (no environment there). */
export async function readProcessIdentity(
  pid: number,
  platform: NodeJS.Platform = process.platform,
): Promise<ProcessIdentity> {
  if (platform === 'linux') {
    try {
      const argv = splitNul(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      let env: Record<string, string> | undefined;
      try {
        env = Object.fromEntries(
          splitNul(readFileSync(`/proc/${pid}/environ`, 'utf8')).map((kv) => [
            kv.slice(0, kv.indexOf('=')),
            kv.slice(kv.indexOf('=') + 1),
          ]),
        );
      } catch {
        env = undefined;
      }
      return { argv, env };
    } catch {
      return {};
    }
  }
  if (platform === 'win32') return {};
  const line = await new Promise<string | undefined>((resolve) => {
    execFile('ps', ['-o', 'command=', '-p', String(pid)], (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
  return line ? { argv: line.split(/\s+/) } : {};
}

/**
 * True only when the running process is the one the pid file describes: its argv ends with the
 * recorded program (the binary, or the script the test stand-in runs) and, where the environment is
 * readable, CONDUIT_CONFIG is our config file. Unknown identity counts as "not ours".
 */
export function isOurHomeserver(identity: ProcessIdentity, record: PidRecord): boolean {
  const argv = identity.argv;
  if (!argv || argv.length === 0) return false;
  const program = record.argv[record.argv.length - 1];
  if (!program || !argv.some((a) => a === program || a.endsWith(`/${program.split('/').pop()}`))) return false;
  if (identity.env && identity.env.CONDUIT_CONFIG !== record.config) return false;
  return true;
}

/** Resolves when the pid is gone, or false after timeoutMs. */
export async function waitForPidExit(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** True when nothing listens on host:port (checked by binding it for a moment). */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free now on host. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The port to use: the fixed one from settings, else the one kept in portFile; if that is taken now
 * (another program, or a fixed port in use), a free one, which is then kept for the next start.
 */
export async function chooseKeptPort(
  portFile: string,
  fixedPort: number,
  host: string,
  logger?: Logger,
): Promise<number> {
  const kept = Number.parseInt(await readFile(portFile, 'utf8').catch(() => ''), 10);
  const wanted = fixedPort || (Number.isInteger(kept) && kept > 0 ? kept : 0);
  let port = wanted;
  if (!wanted || !(await isPortFree(wanted, host))) {
    port = await freePort(host);
    if (wanted) logger?.warn({ wanted, port }, 'the homeserver port is taken; using another one');
  }
  if (port !== kept) await writeFile(portFile, `${port}\n`);
  return port;
}
