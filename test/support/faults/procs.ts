// Finds the processes that belong to one data folder by reading /proc (Linux): serve names it on its
// command line and the homeserver child gets it through CONDUIT_CONFIG. Zombies do not count: they hold
// no resources and go away when their parent reaps them.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  argv: string[];
  /** The homeserver child (the stand-in or Conduit), known by its CONDUIT_CONFIG. */
  homeserver: boolean;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return true;
  // The state follows the parenthesised command name, which may itself hold spaces.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

/** Live processes whose command line or CONDUIT_CONFIG mentions `dataDir`. */
export function processesOf(dataDir: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = (readText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean);
    const env = (readText(`/proc/${pid}/environ`) ?? '').split('\0');
    const conduitConfig = env.find((kv) => kv.startsWith('CONDUIT_CONFIG='));
    const homeserver = conduitConfig !== undefined && conduitConfig.includes(dataDir);
    if (!homeserver && !argv.some((a) => a === dataDir || a.startsWith(`${dataDir}/`))) continue;
    if (isZombie(pid)) continue;
    found.push({ pid, argv, homeserver });
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  stepMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
