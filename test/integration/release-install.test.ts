// The release workflow's install step, run here on the committed lockfile (GitHub cannot be reached from our
// machines): `npm ci` refuses this lockfile (it lacks node-llama-cpp's macOS and Windows packages); the step's own
// command accepts it (run with --package-lock-only in a temporary copy, not a full install) and moves no locked version;
// scripts/lockfile-platforms.ts catches a completion that moved anything else, and adds another CPU's platform package
// only when its tarball matches the lockfile's integrity. Also: every job installs through that one step, and the
// Conduit matrix builds exactly the targets scripts/conduit-release.json publishes.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  ensurePlatformPackages,
  integrityOf,
  lockfileDrift,
  LockfileError,
  type Lockfile,
} from '../../scripts/lockfile-platforms.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const yaml = (file: string) => parseYaml(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>;
type Step = { name?: string; run?: string; uses?: string; with?: Record<string, string> };
const committed = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;

function installCommand(): string {
  const steps = (yaml('.github/actions/install/action.yml').runs as { steps: Step[] }).steps;
  const step = steps.find((s) => s.name === 'Install dependencies');
  if (!step?.run) throw new Error('the install action has no "Install dependencies" step');
  return step.run.trim();
}

/** A temporary project holding only package.json and the committed lockfile. */
function projectCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'release-install-'));
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(root, f), join(dir, f));
  return dir;
}

async function npm(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('npm', args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the install step against the committed lockfile', () => {
  it('npm ci refuses this lockfile, naming the platform packages it lacks (why the step does not use it)', async () => {
    const dir = projectCopy();
    const r = await npm(dir, ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund']);
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Missing: @node-llama-cpp\/(mac|win)-/);
  });

  it("the step's own command accepts it and keeps every locked version", async () => {
    const command = installCommand();
    expect(command).toMatch(/^npm install\b/);
    const dir = projectCopy();
    const [, ...args] = command.split(/\s+/);
    const r = await npm(dir, [...args, '--package-lock-only']);
    const after = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as Lockfile;
    rmSync(dir, { recursive: true, force: true });
    expect(r.code, r.out).toBe(0);
    expect(lockfileDrift(committed, after)).toEqual([]);
  });

  it('every job installs through the one install action, never npm ci or a bare npm install', () => {
    const jobs = yaml('.github/workflows/release.yml').jobs as Record<string, { steps: Step[] }>;
    for (const [id, job] of Object.entries(jobs)) {
      const runs = job.steps.map((s) => s.run ?? '').join('\n');
      expect(runs, id).not.toMatch(/npm (ci|install)\b/);
      if (/^\s*(?:for .*do )?(?:npm run|node )/m.test(runs))
        expect(
          job.steps.some((s) => s.uses === './.github/actions/install'),
          `${id} runs project scripts without installing`,
        ).toBe(true);
    }
    const pkg = jobs.package?.steps.find((s) => s.uses === './.github/actions/install');
    expect(pkg?.with?.native).toBe('${{ matrix.native }}');
  });

  it('builds Conduit for exactly the targets fetch-conduit offers, one runner each', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'scripts/conduit-release.json'), 'utf8')) as {
      targets: Record<string, { asset: string }>;
    };
    const jobs = yaml('.github/workflows/release.yml').jobs as Record<
      string,
      { strategy: { matrix: { include: Array<{ target: string; exe?: string; runner: string }> } } }
    >;
    const include = jobs.conduit!.strategy.matrix.include;
    expect(include.map((t) => t.target).sort()).toEqual(Object.keys(manifest.targets).sort());
    for (const t of include) expect(manifest.targets[t.target]?.asset).toBe(`conduit-${t.target}${t.exe ?? ''}`);
    expect(include.find((t) => t.target === 'linux-arm64')?.runner).toMatch(/arm/);
  });
});

describe('lockfile-platforms', () => {
  const base: Lockfile = {
    packages: {
      '': {},
      'node_modules/a': { version: '1.0.0', integrity: 'sha512-a' },
      'node_modules/@node-llama-cpp/linux-x64': { version: '3.22.1', integrity: 'sha512-l' },
    },
  };
  it.each([
    ['only platform packages added', { 'node_modules/@node-llama-cpp/mac-x64': { version: '3.22.1' } }, []],
    [
      'a moved version',
      { 'node_modules/a': { version: '1.1.0', integrity: 'sha512-a' } },
      ['node_modules/a moved from 1.0.0 to 1.1.0'],
    ],
    [
      'a changed integrity',
      { 'node_modules/a': { version: '1.0.0', integrity: 'sha512-b' } },
      ['node_modules/a changed its integrity'],
    ],
    [
      'another package added',
      { 'node_modules/b': { version: '2.0.0' } },
      ['node_modules/b was added, and is not a node-llama-cpp platform package'],
    ],
  ])('%s', (_what, change, drift) => {
    expect(lockfileDrift(base, { packages: { ...base.packages, ...change } })).toEqual(drift);
  });

  let server: Server;
  let url: string;
  let tarball: Buffer;
  beforeAll(async () => {
    const src = mkdtempSync(join(tmpdir(), 'platform-tgz-'));
    mkdirSync(join(src, 'package'));
    writeFileSync(join(src, 'package', 'package.json'), '{"name":"@node-llama-cpp/mac-x64","version":"3.22.1"}');
    execFileSync('tar', ['-czf', join(src, 'p.tgz'), '-C', src, 'package']);
    tarball = readFileSync(join(src, 'p.tgz'));
    rmSync(src, { recursive: true, force: true });
    server = createServer((_req, res) => res.end(tarball));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mac-x64-3.22.1.tgz`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("adds another CPU's platform package from the lockfile's URL when its integrity matches, and only then", async () => {
    const lock = (integrity: string): Lockfile => ({
      packages: { 'node_modules/@node-llama-cpp/mac-x64': { version: '3.22.1', resolved: url, integrity } },
    });
    const dir = mkdtempSync(join(tmpdir(), 'platform-root-'));
    const pkgDir = join(dir, 'node_modules/@node-llama-cpp/mac-x64');
    await expect(
      ensurePlatformPackages({ lockfile: lock(integrityOf(Buffer.from('other'))), root: dir, names: ['mac-x64'] }),
    ).rejects.toThrow(/integrity .* does not match the lockfile's/);
    expect(existsSync(pkgDir)).toBe(false);
    expect(
      await ensurePlatformPackages({ lockfile: lock(integrityOf(tarball)), root: dir, names: ['mac-x64'] }),
    ).toEqual(['mac-x64']);
    expect(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))).toMatchObject({ version: '3.22.1' });
    // Already there (npm installed it): nothing to do.
    expect(
      await ensurePlatformPackages({ lockfile: lock(integrityOf(tarball)), root: dir, names: ['mac-x64'] }),
    ).toEqual([]);
    await expect(ensurePlatformPackages({ lockfile: { packages: {} }, root: dir, names: ['win-x64'] })).rejects.toThrow(
      LockfileError,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
