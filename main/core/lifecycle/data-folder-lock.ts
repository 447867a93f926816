// One Agent Room per data folder. serve, the desktop app and the CLI commands that write settings or
// secrets hold this lock while they use the folder, so two homeservers and two copies of every bot never
// run on one database, and nothing writes behind a running app's back.
//
// Whether the lock is held is decided by whether its holder lives (its pid, plus the process's start time
// so that a pid reused after a reboot does not count), never by the lock's age: a holder killed by SIGKILL
// or a power loss frees the folder for the very next start.
//
// Race-free without an OS lock (Node has no flock): the lock is a numbered generation file in <data>/lock/,
// published once with an exclusive hard link from a complete temp file (so never read half written), and
// never replaced by another process. Taking over from a dead holder of generation g means creating g+1,
// which only one process can do; the others then find g+1 held by a live process. The newest generation is
// never deleted (a release rewrites it as released), so the numbers only grow, and a slow starter that
// read an older generation and created an old number loses: after creating its file, each starter checks
// that no newer generation exists.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { isAlive } from '../homeserver/process-tools.ts';

export interface LockRecord {
  pid: number;
  /** The holder's start time as the OS reports it (boot id and start tick on Linux); tells a reused pid apart. */
  startId?: string;
  /** Who holds it: "serve", "desktop", or a CLI command such as "import". */
  holder: string;
  /** serve's control API and chat window, once it listens. */
  controlUrl?: string;
  startedAt: string;
  /** Set by a clean release: the folder is free. */
  released?: boolean;
}

/** Another live process holds the data folder. The message is the one a person sees first. */
export class DataFolderLockedError extends Error {
  readonly hint: string;
  readonly dataDir: string;
  readonly record: LockRecord;
  // No parameter properties in this module: the lock race tests run it with Node's type stripping.
  constructor(dataDir: string, record: LockRecord) {
    super(`Agent Room already runs on this data folder (pid ${record.pid}, ${describeHolder(record)})`);
    this.name = 'DataFolderLockedError';
    this.dataDir = dataDir;
    this.record = record;
    this.hint =
      record.holder === 'serve' || record.holder === 'desktop'
        ? `Use the running one${record.controlUrl ? ` (its chat window is at ${record.controlUrl}; \`agent-room status\` shows it)` : ''}, stop it first, or choose another folder with --data-dir.`
        : `Wait for that command to finish, then try again.`;
  }
}

function describeHolder(record: LockRecord): string {
  if (record.controlUrl) return record.controlUrl;
  if (record.holder === 'serve') return 'agent-room serve, still starting';
  if (record.holder === 'desktop') return 'the desktop app';
  return `the \`agent-room ${record.holder}\` command`;
}

const GENERATION = /^(\d+)\.json$/;
const MAX_TRIES = 200;

/** An identifier of when the process started, or undefined where it cannot be read. */
export function processStartId(pid: number, platform: NodeJS.Platform = process.platform): string | undefined {
  try {
    if (platform === 'linux') {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 22 (starttime, clock ticks since boot) counts from the state, the first field after "(comm) ".
      const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      return startTicks ? `${bootId}:${startTicks}` : undefined;
    }
    if (platform === 'win32') return undefined;
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return started || undefined;
  } catch {
    return undefined;
  }
}

/** A process that exited but was not reaped (its parent is gone and PID 1 of a container may never reap it). */
function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return false;
  }
}

/** True while the process that wrote the record still runs (and is the same process, not a reused pid). */
export function holderAlive(record: LockRecord): boolean {
  if (record.released || !isAlive(record.pid) || isZombie(record.pid)) return false;
  if (record.startId === undefined) return true;
  const now = processStartId(record.pid);
  return now === undefined || now === record.startId;
}

export function lockDir(dataDir: string): string {
  return join(dataDir, 'lock');
}

function generations(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => GENERATION.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const fileOf = (dir: string, generation: number): string => join(dir, `${generation}.json`);

/** The record, undefined for an unreadable one (it counts as free), or 'gone' when the file vanished meanwhile. */
function readRecord(file: string): LockRecord | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    return typeof parsed.pid === 'number' && typeof parsed.holder === 'string' ? (parsed as LockRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a complete, synced temp file; the caller links or renames it into place. */
function writeTemp(dir: string, record: LockRecord): string {
  const tmp = join(dir, `.tmp-${process.pid}-${randomUUID()}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

/** Creates generation `generation` holding `record`; false when another process created it first. */
function createGeneration(dir: string, generation: number, record: LockRecord): boolean {
  const tmp = writeTemp(dir, record);
  try {
    linkSync(tmp, fileOf(dir, generation));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Older generations and temp files of dead processes: only the winner tidies, and never the newest. */
function tidy(dir: string, mine: number): void {
  for (const generation of generations(dir)) if (generation < mine) rmSync(fileOf(dir, generation), { force: true });
  for (const name of readdirSync(dir)) {
    const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
    if (pid && !isAlive(pid)) rmSync(join(dir, name), { force: true });
  }
}

export interface AcquireOptions {
  /** "serve", "desktop", or the CLI command's name. */
  holder: string;
  controlUrl?: string;
}

/** Holds the data folder until release(). */
export class DataFolderLock {
  readonly dataDir: string;
  readonly file: string;
  #record: LockRecord;
  #released = false;

  constructor(dataDir: string, file: string, record: LockRecord) {
    this.dataDir = dataDir;
    this.file = file;
    this.#record = record;
  }

  get record(): LockRecord {
    return this.#record;
  }

  /** Adds what a second start should be told (serve's control URL once it listens). */
  update(patch: Pick<LockRecord, 'controlUrl'>): void {
    if (this.#released) return;
    this.#rewrite({ ...this.#record, ...patch });
  }

  /** Frees the folder. Safe to call more than once. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      this.#rewrite({ ...this.#record, released: true });
    } catch {
      // The folder is gone or read-only now: a dead pid frees the lock all the same.
    }
  }

  /** Only the holder rewrites its own generation, and atomically: readers see the old or the new record. */
  #rewrite(record: LockRecord): void {
    const tmp = writeTemp(dirname(this.file), record);
    renameSync(tmp, this.file);
    this.#record = record;
  }
}

/**
 * Takes the data folder for this process, or throws DataFolderLockedError naming the live holder. Throws
 * other errors (EACCES, ENOTDIR) when the folder cannot be written at all.
 */
export function acquireDataFolderLock(dataDir: string, options: AcquireOptions): DataFolderLock {
  const dir = lockDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const startId = processStartId(process.pid);
  const mine: LockRecord = {
    pid: process.pid,
    ...(startId ? { startId } : {}),
    holder: options.holder,
    ...(options.controlUrl ? { controlUrl: options.controlUrl } : {}),
    startedAt: new Date().toISOString(),
  };
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const newest = generations(dir).at(-1);
    let next = 1;
    if (newest !== undefined) {
      const record = readRecord(fileOf(dir, newest));
      if (record === 'gone') continue;
      if (record && holderAlive(record)) throw new DataFolderLockedError(dataDir, record);
      next = newest + 1;
    }
    if (!createGeneration(dir, next, mine)) continue;
    if (generations(dir).some((g) => g > next)) {
      // A newer generation appeared while this one was made: this one lost (it is not the newest, so removing it is safe).
      rmSync(fileOf(dir, next), { force: true });
      continue;
    }
    tidy(dir, next);
    return new DataFolderLock(dataDir, fileOf(dir, next), mine);
  }
  throw new Error(
    `Could not take the lock of the data folder ${dataDir} after ${MAX_TRIES} tries: other processes keep starting on it. Start one Agent Room at a time.`,
  );
}

/** The live holder of the data folder, if any (for messages; taking the lock is what decides). */
export function dataFolderHolder(dataDir: string): LockRecord | undefined {
  const dir = lockDir(dataDir);
  let newest: number | undefined;
  try {
    newest = generations(dir).at(-1);
  } catch {
    return undefined;
  }
  if (newest === undefined) return undefined;
  const record = readRecord(fileOf(dir, newest));
  return record && record !== 'gone' && holderAlive(record) ? record : undefined;
}
