// scripts/fetch-conduit.ts against a local HTTP server: a good file is installed executable; a wrong
// checksum, a 404 and a cut connection each fail clearly and leave no file (whole or partial) in place.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchConduit,
  FetchConduitError,
  main,
  readManifest,
  type ConduitManifest,
} from '../../scripts/fetch-conduit.ts';

const BINARY = Buffer.from('#!/bin/sh\necho conduit-stand-in\n'.repeat(2000));
const GOOD_SHA = createHash('sha256').update(BINARY).digest('hex');
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/raw/good')) return void res.end(BINARY);
    if (req.url?.startsWith('/raw/cut')) {
      // Promise the whole file, send half, then drop the connection.
      res.writeHead(200, { 'content-length': String(BINARY.length) });
      res.write(BINARY.subarray(0, BINARY.length / 2), () => res.socket?.destroy());
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/raw`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function manifest(path: string, sha256: string | null): ConduitManifest {
  return {
    version: '0.0.0',
    tag: 'v0.0.0',
    source: 'https://example.invalid/conduit.git',
    baseUrl: 'https://example.invalid/raw',
    targets: {
      'linux-x64': { triple: 'x86_64-unknown-linux-musl', path, sha256 },
      'darwin-arm64': { triple: 'aarch64-apple-darwin', build: 'source' },
    },
  };
}

function resources(): string {
  return mkdtempSync(join(tmpdir(), 'fetch-conduit-'));
}

function binDir(res: string): string[] {
  const dir = join(res, 'bin', 'linux-x64');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('fetch-conduit', () => {
  it('installs a verified file as executable, and skips a second download', async () => {
    const res = resources();
    const first = await fetchConduit({
      manifest: manifest('good?job=artifacts', GOOD_SHA),
      target: 'linux-x64',
      resourcesDir: res,
      baseUrl,
    });
    const dest = join(res, 'bin', 'linux-x64', 'conduit');
    expect(first).toEqual({ installed: dest, sha256: GOOD_SHA, skipped: false });
    expect(statSync(dest).mode & 0o111).not.toBe(0);
    expect(binDir(res)).toEqual(['conduit']);
    const second = await fetchConduit({
      manifest: manifest('good?job=artifacts', GOOD_SHA),
      target: 'linux-x64',
      resourcesDir: res,
      baseUrl,
    });
    expect(second).toMatchObject({ skipped: true });
    rmSync(res, { recursive: true, force: true });
  });

  it.each([
    ['a wrong checksum', 'good', 'f'.repeat(64), /Checksum mismatch .* expected f{64}, got [0-9a-f]{64}/],
    ['a 404', 'missing', GOOD_SHA, /HTTP 404/],
    ['a cut connection', 'cut', GOOD_SHA, /was cut off/],
  ])('fails clearly on %s and leaves nothing in place', async (_name, path, sha, message) => {
    const res = resources();
    const run = fetchConduit({ manifest: manifest(path, sha), target: 'linux-x64', resourcesDir: res, baseUrl });
    await expect(run).rejects.toBeInstanceOf(FetchConduitError);
    await expect(run).rejects.toThrow(message);
    expect(binDir(res)).toEqual([]);
    rmSync(res, { recursive: true, force: true });
  });

  it('refuses an unpinned checksum, but --print-sha256 prints it without installing', async () => {
    const res = resources();
    await expect(
      fetchConduit({ manifest: manifest('good', null), target: 'linux-x64', resourcesDir: res, baseUrl }),
    ).rejects.toThrow(/checksum not pinned for this target.*--print-sha256/i);
    const printed = await fetchConduit({
      manifest: manifest('good', null),
      target: 'linux-x64',
      resourcesDir: res,
      baseUrl,
      printSha256: true,
    });
    expect(printed).toEqual({ printed: `${baseUrl}/good`, sha256: GOOD_SHA });
    expect(binDir(res)).toEqual([]);
    rmSync(res, { recursive: true, force: true });
  });

  it('points to the source build for targets without a published binary, and to the list for unknown ones', async () => {
    const res = resources();
    await expect(
      fetchConduit({ manifest: manifest('good', GOOD_SHA), target: 'darwin-arm64', resourcesDir: res, baseUrl }),
    ).rejects.toThrow(/release\.yml.*cargo build --release/);
    await expect(
      fetchConduit({ manifest: manifest('good', GOOD_SHA), target: 'sunos-x64', resourcesDir: res, baseUrl }),
    ).rejects.toThrow(/Pinned targets: linux-x64, darwin-arm64/);
    rmSync(res, { recursive: true, force: true });
  });

  it('the committed manifest pins the Linux musl builds and marks macOS and Windows for a source build', async () => {
    const pinned = await readManifest();
    expect(pinned.tag).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(pinned.targets['linux-x64']?.triple).toBe('x86_64-unknown-linux-musl');
    expect(pinned.targets['linux-arm64']?.triple).toBe('aarch64-unknown-linux-musl');
    for (const t of ['darwin-x64', 'darwin-arm64', 'win32-x64']) expect(pinned.targets[t]?.build).toBe('source');
  });

  it('the CLI takes its base URL from AGENT_ROOM_CONDUIT_BASE_URL and exits 0 after installing, 1 on failure', async () => {
    const res = resources();
    const file = join(res, 'manifest.json');
    writeFileSync(file, JSON.stringify(manifest('good', GOOD_SHA)));
    expect(
      await main(['--manifest', file, '--target', 'linux-x64', '--resources', res], {
        AGENT_ROOM_CONDUIT_BASE_URL: baseUrl,
      }),
    ).toBe(0);
    expect(binDir(res)).toEqual(['conduit']);
    writeFileSync(file, JSON.stringify(manifest('missing', GOOD_SHA)));
    rmSync(join(res, 'bin'), { recursive: true });
    expect(
      await main(['--manifest', file, '--target', 'linux-x64', '--resources', res], {
        AGENT_ROOM_CONDUIT_BASE_URL: baseUrl,
      }),
    ).toBe(1);
    rmSync(res, { recursive: true, force: true });
  });
});
