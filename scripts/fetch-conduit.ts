// `npm run fetch-conduit [-- --target <platform>-<arch>]`: installs this project's Conduit build for this machine
// (or --target) as resources/bin/<platform>-<arch>/conduit[.exe]. The release workflow builds Conduit from the pinned
// tag for every target and publishes each binary with a SHA256SUMS file as assets of this project's release
// (scripts/conduit-release.json); this downloads SHA256SUMS, then the binary, and installs the binary only when its
// sha256 is the one SHA256SUMS lists for it. Nothing unverified is ever put in place: the download goes to a temporary
// file that is renamed only after its checksum matches, and removed on any failure. Before that release exists it
// says so, and how to build Conduit from source or use an external homeserver instead.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ConduitTarget {
  triple: string;
  /** The release asset's file name, e.g. conduit-linux-x64 or conduit-win32-x64.exe. */
  asset: string;
}

export interface ConduitManifest {
  version: string;
  /** Conduit's own tag, built from `source`. */
  tag: string;
  source: string;
  release: {
    /** owner/name of this project on GitHub. */
    repo: string;
    /** This project's release holding the binaries, e.g. conduit-v0.10.12. */
    tag: string;
    /** The checksums asset: lines of "<sha256>  <asset>", as sha256sum writes them. */
    checksums: string;
    /** When set, the sha256 of the checksums file itself. */
    checksumsSha256?: string | null;
  };
  /** Where the release's assets download from. */
  baseUrl: string;
  targets: Record<string, ConduitTarget>;
}

export class FetchConduitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchConduitError';
  }
}

/** The release does not exist (yet): its checksums file is not there. */
export class NoConduitReleaseError extends FetchConduitError {
  constructor(message: string) {
    super(message);
    this.name = 'NoConduitReleaseError';
  }
}

export interface FetchConduitOptions {
  manifest: ConduitManifest;
  /** "<platform>-<arch>", e.g. linux-x64. */
  target: string;
  /** Folder holding bin/<target>/. */
  resourcesDir: string;
  /** Replaces the manifest's baseUrl (env AGENT_ROOM_CONDUIT_BASE_URL): mirrors and tests. */
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface FetchConduitResult {
  installed: string;
  sha256: string;
  skipped: boolean;
}

export const MANIFEST_FILE = fileURLToPath(new URL('./conduit-release.json', import.meta.url));

export async function readManifest(file = MANIFEST_FILE): Promise<ConduitManifest> {
  return JSON.parse(await readFile(file, 'utf8')) as ConduitManifest;
}

export function binaryName(target: string): string {
  return target.startsWith('win32-') ? 'conduit.exe' : 'conduit';
}

/**
 * The checksums file as sha256sum (and `shasum -a 256`) write it: "<64 hex> <space or *><name>" per line; blank lines
 * and # comments are skipped. Anything else is an error, so a wrong file (an HTML error page) is never half-read.
 */
export function parseChecksums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([0-9a-fA-F]{64}) [ *]?(.+)$/.exec(line);
    if (!m?.[1] || !m[2])
      throw new FetchConduitError(
        `Line ${i + 1} of the checksums file is not "<sha256>  <file>": ${line.slice(0, 80)}`,
      );
    sums.set(m[2].replace(/^\.\//, ''), m[1].toLowerCase());
  });
  if (sums.size === 0) throw new FetchConduitError('The checksums file lists no file.');
  return sums;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256Of(file: string): Promise<string | undefined> {
  try {
    return sha256(await readFile(file));
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ');
}

/** What to do while no release can be downloaded: build from source, or use a homeserver elsewhere. */
export function withoutReleaseHint(m: ConduitManifest, target: string, dest: string): string {
  return (
    `Until it is published: build Conduit from source (git clone --branch ${m.tag} ${m.source} && cd conduit && ` +
    `cargo build --release --locked) and copy target/release/${binaryName(target)} to ${dest}, or set AGENT_ROOM_CONDUIT ` +
    'to a Conduit executable; or use an external homeserver: agent-room serve --homeserver-url URL --registration-token T.'
  );
}

async function download(o: FetchConduitOptions, url: string): Promise<Response> {
  try {
    return await (o.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(o.timeoutMs ?? 10 * 60_000),
      redirect: 'follow',
    });
  } catch (err) {
    throw new FetchConduitError(
      `Cannot download ${url}: ${describe(err)}. Check the network, or set AGENT_ROOM_CONDUIT_BASE_URL to a mirror.`,
    );
  }
}

/** The release's checksums, checked against the manifest's pin when there is one. */
async function releaseChecksums(o: FetchConduitOptions, base: string, dest: string): Promise<Map<string, string>> {
  const m = o.manifest;
  const url = `${base}/${m.release.checksums}`;
  const res = await download(o, url);
  if (res.status === 404)
    throw new NoConduitReleaseError(
      `This project has not published its Conduit ${m.tag} build yet: ${url} was not found (release ${m.release.tag} of ${m.release.repo}). ` +
        withoutReleaseHint(m, o.target, dest),
    );
  if (!res.ok) throw new FetchConduitError(`Download of ${url} failed: HTTP ${res.status} ${res.statusText}.`);
  const text = await res.text();
  const pin = m.release.checksumsSha256?.toLowerCase();
  if (pin && sha256(text) !== pin)
    throw new FetchConduitError(
      `${url} is not the checksums file pinned in scripts/conduit-release.json (sha256 ${sha256(text)}, pinned ${pin}): nothing was installed. If the release was re-published on purpose, pin the new file after checking it.`,
    );
  return parseChecksums(text);
}

export async function fetchConduit(o: FetchConduitOptions): Promise<FetchConduitResult> {
  const log = o.log ?? (() => undefined);
  const m = o.manifest;
  const entry = m.targets[o.target];
  if (!entry) {
    throw new FetchConduitError(
      `No Conduit build is published for ${o.target}. Published targets: ${Object.keys(m.targets).join(', ')}. Use an external homeserver on this machine.`,
    );
  }
  const dest = join(o.resourcesDir, 'bin', o.target, binaryName(o.target));
  const base = (o.baseUrl ?? m.baseUrl).replace(/\/+$/, '');
  const expected = (await releaseChecksums(o, base, dest)).get(entry.asset);
  if (!expected)
    throw new FetchConduitError(
      `The release ${m.release.tag} lists no checksum for ${entry.asset}, so it cannot be verified. ${withoutReleaseHint(m, o.target, dest)}`,
    );
  if ((await sha256Of(dest)) === expected) {
    log(`Conduit ${m.tag} for ${o.target} is already in place: ${dest}`);
    return { installed: dest, sha256: expected, skipped: true };
  }

  const url = `${base}/${entry.asset}`;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.download-${randomBytes(4).toString('hex')}`;
  try {
    log(`Downloading Conduit ${m.tag} for ${o.target} from ${url}`);
    const res = await download(o, url);
    if (!res.ok || !res.body)
      throw new FetchConduitError(
        `Download of ${url} failed: HTTP ${res.status} ${res.statusText}. The release lists ${entry.asset} but does not serve it: ask the maintainers to re-run the release workflow.`,
      );
    const hash = createHash('sha256');
    try {
      const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(tmp, { mode: 0o644 }));
    } catch (err) {
      throw new FetchConduitError(`The download of ${url} was cut off: ${describe(err)}. Run it again.`);
    }
    const actual = hash.digest('hex');
    if (actual !== expected)
      throw new FetchConduitError(
        `Checksum mismatch for ${url}: ${m.release.checksums} lists ${expected}, the download is ${actual}. The file was not installed; do not use it.`,
      );
    await chmod(tmp, 0o755);
    await rename(tmp, dest);
    log(
      `Installed Conduit ${m.tag} for ${o.target} at ${dest} (sha256 ${actual}, as listed in ${m.release.checksums})`,
    );
    return { installed: dest, sha256: actual, skipped: false };
  } finally {
    await rm(tmp, { force: true });
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  try {
    await fetchConduit({
      manifest: await readManifest(arg('--manifest') ?? MANIFEST_FILE),
      target: arg('--target') ?? `${process.platform}-${process.arch}`,
      resourcesDir: arg('--resources') ?? join(repoRoot, 'resources'),
      baseUrl: arg('--base-url') ?? env.AGENT_ROOM_CONDUIT_BASE_URL,
      log: (line) => console.log(line),
    });
    return 0;
  } catch (err) {
    console.error(err instanceof FetchConduitError ? err.message : err);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
