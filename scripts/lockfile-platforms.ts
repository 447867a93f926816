// The release workflow's install step, checked. Our machines reach a registry that serves only node-llama-cpp's
// Linux binary packages, so the committed lockfile lacks the macOS and Windows ones and `npm ci` refuses it. A release
// runner (full registry) runs `npm install`, which keeps every locked version and adds the missing optional packages;
// this script then proves that is all it did, and puts in place the packages a job packages for another CPU:
//
//   check --base <lockfile or git rev> [--need "mac-arm64-metal mac-x64"]
//     - every package of the base lockfile is still there at the same version and integrity;
//     - every package added is one of @node-llama-cpp/* (nothing else moved);
//     - each --need package is in the lockfile, and in node_modules: npm skips a platform package whose CPU is not
//       this runner's (mac-x64 on an arm64 Mac), so it is fetched from the lockfile's URL, checked against the
//       lockfile's integrity, and unpacked.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
}
export interface Lockfile {
  packages: Record<string, LockEntry>;
}

export class LockfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockfileError';
  }
}

const PLATFORM_PREFIX = 'node_modules/@node-llama-cpp/';

/** What changed from base to current that a completion must not change; empty when only platform packages were added. */
export function lockfileDrift(base: Lockfile, current: Lockfile): string[] {
  const problems: string[] = [];
  for (const [path, entry] of Object.entries(base.packages)) {
    if (path === '') continue; // the project itself
    const now = current.packages[path];
    if (!now) problems.push(`${path} ${entry.version ?? ''} was removed`);
    else if (now.version !== entry.version) problems.push(`${path} moved from ${entry.version} to ${now.version}`);
    else if (entry.integrity && now.integrity !== entry.integrity) problems.push(`${path} changed its integrity`);
  }
  for (const path of Object.keys(current.packages)) {
    if (!(path in base.packages) && !path.startsWith(PLATFORM_PREFIX))
      problems.push(`${path} was added, and is not a node-llama-cpp platform package`);
  }
  return problems;
}

/** sha512 (or another ssri algorithm) of data, in the lockfile's "<algo>-<base64>" form. */
export function integrityOf(data: Buffer, algorithm = 'sha512'): string {
  return `${algorithm}-${createHash(algorithm).update(data).digest('base64')}`;
}

export interface EnsureOptions {
  lockfile: Lockfile;
  /** The project folder holding node_modules. */
  root: string;
  /** Platform package names without the scope: "mac-x64". */
  names: string[];
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

/** Puts each named platform package in node_modules (from the lockfile's URL, verified) unless npm installed it. */
export async function ensurePlatformPackages(o: EnsureOptions): Promise<string[]> {
  const added: string[] = [];
  for (const name of o.names) {
    const path = `${PLATFORM_PREFIX}${name}`;
    const entry = o.lockfile.packages[path];
    if (!entry?.resolved || !entry.integrity)
      throw new LockfileError(
        `@node-llama-cpp/${name} is not in the lockfile after npm install: the registry did not offer it (a mirror with Linux packages only?). Install from the full npm registry.`,
      );
    const dir = join(o.root, path);
    if (existsSync(join(dir, 'package.json'))) continue;
    const res = await (o.fetch ?? fetch)(entry.resolved);
    if (!res.ok) throw new LockfileError(`Download of ${entry.resolved} failed: HTTP ${res.status}`);
    const data = Buffer.from(await res.arrayBuffer());
    const [algorithm] = entry.integrity.split('-');
    const actual = integrityOf(data, algorithm);
    if (actual !== entry.integrity)
      throw new LockfileError(
        `@node-llama-cpp/${name}: integrity ${actual} does not match the lockfile's ${entry.integrity}; nothing was unpacked`,
      );
    const work = mkdtempSync(join(tmpdir(), 'platform-package-'));
    try {
      const tgz = join(work, 'package.tgz');
      writeFileSync(tgz, data);
      mkdirSync(dir, { recursive: true });
      // npm tarballs hold one folder, package/.
      execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components', '1']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    o.log?.(`added @node-llama-cpp/${name}@${entry.version} (another CPU's package; integrity checked)`);
    added.push(name);
  }
  return added;
}

function readBase(root: string, base: string): Lockfile {
  if (existsSync(base)) return JSON.parse(readFileSync(base, 'utf8')) as Lockfile;
  const text = execFileSync('git', ['show', `${base}:package-lock.json`], { cwd: root, encoding: 'utf8' });
  return JSON.parse(text) as Lockfile;
}

export async function main(argv: string[], root = process.cwd()): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const base = arg('--base');
  if (argv[0] !== 'check' || !base) {
    console.error('usage: lockfile-platforms.ts check --base <lockfile|git rev> [--need "name …"]');
    return 2;
  }
  try {
    const current = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
    const drift = lockfileDrift(readBase(root, base), current);
    if (drift.length > 0) {
      for (const line of drift) console.error(`lockfile: ${line}`);
      console.error('npm install changed more than the platform packages: pin the versions above in package.json.');
      return 1;
    }
    const names = (arg('--need') ?? '').split(/[\s,]+/).filter(Boolean);
    await ensurePlatformPackages({ lockfile: current, root, names, log: (l) => console.log(l) });
    const count = Object.keys(current.packages).length - 1;
    console.log(
      `lockfile: every locked version kept (${count} packages)${names.length ? `; present: ${names.join(', ')}` : ''}`,
    );
    return 0;
  } catch (err) {
    console.error(err instanceof LockfileError ? err.message : err);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
