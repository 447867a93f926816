// scripts/fetch-conduit.ts against a local HTTP server standing in for this project's Conduit release: its
// SHA256SUMS is written by the release workflow's own step (its command, run here), a listed file is installed
// executable, and a wrong checksum, a missing entry, a cut connection or a checksums file that is not one each fail
// clearly and leave nothing (whole or partial) in place. With no release yet it says so, and what to do instead.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  fetchConduit,
  FetchConduitError,
  main,
  NoConduitReleaseError,
  parseChecksums,
  readManifest,
  type ConduitManifest,
} from '../../scripts/fetch-conduit.ts';

const root = join(import.meta.dirname, '..', '..');
const BINARY = Buffer.from('#!/bin/sh\necho conduit-stand-in\n'.repeat(2000));
const GOOD_SHA = createHash('sha256').update(BINARY).digest('hex');
/** Release folders served under /<name>/: "good" as the workflow publishes it, and broken variants. */
const releases: Record<string, Record<string, Buffer | 'cut'>> = {};
let server: Server;
let baseUrl: string;

/** The release workflow's "Write SHA256SUMS" step, as written in release.yml. */
function checksumsStep(): { run: string; dir: string } {
  const wf = parseYaml(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as {
    jobs: Record<string, { steps: Array<{ name?: string; run?: string; 'working-directory'?: string }> }>;
  };
  const step = wf.jobs['conduit-release']?.steps.find((s) => s.name === 'Write SHA256SUMS');
  if (!step?.run) throw new Error('release.yml has no "Write SHA256SUMS" step in conduit-release');
  return { run: step.run, dir: step['working-directory'] ?? '.' };
}

beforeAll(async () => {
  // The assets as the conduit job uploads them, and SHA256SUMS from the workflow's command.
  const assets = mkdtempSync(join(tmpdir(), 'conduit-assets-'));
  writeFileSync(join(assets, 'conduit-linux-x64'), BINARY);
  writeFileSync(join(assets, 'conduit-win32-x64.exe'), Buffer.from('MZ not really'));
  execFileSync('bash', ['-eo', 'pipefail', '-c', checksumsStep().run], { cwd: assets, stdio: 'pipe' });
  releases.good = Object.fromEntries(readdirSync(assets).map((f) => [f, readFileSync(join(assets, f))]));
  rmSync(assets, { recursive: true, force: true });
  const sums = releases.good.SHA256SUMS as Buffer;
  releases.tampered = { ...releases.good, 'conduit-linux-x64': Buffer.from('#!/bin/sh\necho evil\n') };
  releases.cut = { ...releases.good, 'conduit-linux-x64': 'cut' };
  releases.unlisted = { ...releases.good, SHA256SUMS: Buffer.from(`${'a'.repeat(64)}  conduit-darwin-arm64\n`) };
  releases.html = { ...releases.good, SHA256SUMS: Buffer.from('<!doctype html><title>Sign in</title>') };
  releases.nofile = { SHA256SUMS: sums };
  server = createServer((req, res) => {
    const [, name, file] = (req.url ?? '').split('/');
    const body = releases[name ?? '']?.[file ?? ''];
    if (body === 'cut') {
      // Promise the whole file, send half, then drop the connection.
      res.writeHead(200, { 'content-length': String(BINARY.length) });
      res.write(BINARY.subarray(0, BINARY.length / 2), () => res.socket?.destroy());
      return;
    }
    if (!body) return void res.writeHead(404).end('Not Found');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function manifest(pin: string | null = null): ConduitManifest {
  return {
    version: '0.0.0',
    tag: 'v0.0.0',
    source: 'https://example.invalid/conduit.git',
    release: { repo: 'example/agent-room', tag: 'conduit-v0.0.0', checksums: 'SHA256SUMS', checksumsSha256: pin },
    baseUrl: 'https://example.invalid/releases/download/conduit-v0.0.0',
    targets: {
      'linux-x64': { triple: 'x86_64-unknown-linux-gnu', asset: 'conduit-linux-x64' },
      'darwin-arm64': { triple: 'aarch64-apple-darwin', asset: 'conduit-darwin-arm64' },
    },
  };
}

const resources = () => mkdtempSync(join(tmpdir(), 'fetch-conduit-'));
function binDir(res: string): string[] {
  const dir = join(res, 'bin', 'linux-x64');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('the checksums file', () => {
  it("is read as the workflow's step writes it (sha256sum: <sha256>  <file>)", () => {
    const sums = parseChecksums((releases.good!.SHA256SUMS as Buffer).toString());
    expect(sums.get('conduit-linux-x64')).toBe(GOOD_SHA);
    expect([...sums.keys()].sort()).toEqual(['conduit-linux-x64', 'conduit-win32-x64.exe']);
  });

  it.each([
    [`${GOOD_SHA.toUpperCase()} *conduit-linux-x64\r\n`, GOOD_SHA], // binary mode, Windows line ends
    [`# sha256\n\n${GOOD_SHA}  ./conduit-linux-x64\n`, GOOD_SHA],
  ])('accepts the other forms sha256sum and shasum write (%#)', (text, sha) => {
    expect(parseChecksums(text).get('conduit-linux-x64')).toBe(sha);
  });

  it.each([['<html>'], [`${GOOD_SHA.slice(1)}  conduit-linux-x64`], [''], [`md5 ${'0'.repeat(32)}  f`]])(
    'refuses what is not one: %j',
    (text) => {
      expect(() => parseChecksums(text)).toThrow(FetchConduitError);
    },
  );
});

describe('fetch-conduit', () => {
  it('installs the listed file as executable, and skips a second download', async () => {
    const res = resources();
    const o = { manifest: manifest(), target: 'linux-x64', resourcesDir: res, baseUrl: `${baseUrl}/good` };
    const dest = join(res, 'bin', 'linux-x64', 'conduit');
    expect(await fetchConduit(o)).toEqual({ installed: dest, sha256: GOOD_SHA, skipped: false });
    expect(statSync(dest).mode & 0o111).not.toBe(0);
    expect(readFileSync(dest)).toEqual(BINARY);
    expect(binDir(res)).toEqual(['conduit']);
    expect(await fetchConduit(o)).toMatchObject({ skipped: true });
    rmSync(res, { recursive: true, force: true });
  });

  it.each([
    [
      'a file that is not the one listed',
      'tampered',
      /Checksum mismatch .*SHA256SUMS lists [0-9a-f]{64}, the download is [0-9a-f]{64}/,
    ],
    ['a cut connection', 'cut', /was cut off/],
    ['a release without this target in SHA256SUMS', 'unlisted', /lists no checksum for conduit-linux-x64/],
    ['a checksums file that is not one', 'html', /Line 1 of the checksums file/],
    ['a listed file the release does not serve', 'nofile', /HTTP 404.*re-run the release workflow/],
  ])('fails clearly on %s and leaves nothing in place', async (_name, release, message) => {
    const res = resources();
    const run = fetchConduit({
      manifest: manifest(),
      target: 'linux-x64',
      resourcesDir: res,
      baseUrl: `${baseUrl}/${release}`,
    });
    await expect(run).rejects.toBeInstanceOf(FetchConduitError);
    await expect(run).rejects.toThrow(message);
    expect(binDir(res)).toEqual([]);
    rmSync(res, { recursive: true, force: true });
  });

  it('with the checksums file pinned, accepts that file and refuses a republished one', async () => {
    const res = resources();
    const pin = createHash('sha256')
      .update(releases.good!.SHA256SUMS as Buffer)
      .digest('hex');
    const o = { target: 'linux-x64', resourcesDir: res, baseUrl: `${baseUrl}/good` };
    await expect(fetchConduit({ ...o, manifest: manifest('0'.repeat(64)) })).rejects.toThrow(
      /not the checksums file pinned/,
    );
    expect(binDir(res)).toEqual([]);
    await expect(fetchConduit({ ...o, manifest: manifest(pin) })).resolves.toMatchObject({ sha256: GOOD_SHA });
    rmSync(res, { recursive: true, force: true });
  });

  it('before the release exists, says so plainly and points to a source build or an external homeserver', async () => {
    const res = resources();
    const run = fetchConduit({
      manifest: manifest(),
      target: 'linux-x64',
      resourcesDir: res,
      baseUrl: `${baseUrl}/none`,
    });
    await expect(run).rejects.toBeInstanceOf(NoConduitReleaseError);
    await expect(run).rejects.toThrow(
      /has not published its Conduit v0\.0\.0 build yet: .*SHA256SUMS was not found \(release conduit-v0\.0\.0 of example\/agent-room\)\. Until it is published: build Conduit from source \(git clone --branch v0\.0\.0 .*cargo build --release --locked\).*AGENT_ROOM_CONDUIT.*--homeserver-url URL --registration-token T/,
    );
    expect(binDir(res)).toEqual([]);
    rmSync(res, { recursive: true, force: true });
  });

  it('names the published targets for one it does not know', async () => {
    await expect(
      fetchConduit({
        manifest: manifest(),
        target: 'sunos-x64',
        resourcesDir: resources(),
        baseUrl: `${baseUrl}/good`,
      }),
    ).rejects.toThrow(/Published targets: linux-x64, darwin-arm64/);
  });

  it("the committed manifest points at this project's release, one asset per target", async () => {
    const pinned = await readManifest();
    expect(pinned.tag).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(pinned.release.tag).toBe(`conduit-${pinned.tag}`);
    expect(pinned.baseUrl).toBe(`https://github.com/${pinned.release.repo}/releases/download/${pinned.release.tag}`);
    expect(Object.keys(pinned.targets).sort()).toEqual([
      'darwin-arm64',
      'darwin-x64',
      'linux-arm64',
      'linux-x64',
      'win32-x64',
    ]);
    for (const [t, entry] of Object.entries(pinned.targets))
      expect(entry.asset).toBe(`conduit-${t}${t.startsWith('win32') ? '.exe' : ''}`);
  });

  it('the CLI takes its base URL from AGENT_ROOM_CONDUIT_BASE_URL and exits 0 after installing, 1 on failure', async () => {
    const res = resources();
    const file = join(res, 'manifest.json');
    writeFileSync(file, JSON.stringify(manifest()));
    const cli = (release: string) =>
      main(['--manifest', file, '--target', 'linux-x64', '--resources', res], {
        AGENT_ROOM_CONDUIT_BASE_URL: `${baseUrl}/${release}`,
      });
    expect(await cli('good')).toBe(0);
    expect(binDir(res)).toEqual(['conduit']);
    rmSync(join(res, 'bin'), { recursive: true });
    expect(await cli('none')).toBe(1);
    rmSync(res, { recursive: true, force: true });
  });
});
