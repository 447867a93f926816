// `npm run fetch-conduit`: downloads the pinned Conduit build for this machine (or --target) into
// resources/bin/<platform>-<arch>/conduit, verified against the sha256 in scripts/conduit-release.json.
// Nothing unverified is ever put in place: the download goes to a temporary file that is renamed only
// after its checksum matches, and removed on any failure.
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
  /** Path under baseUrl for a published binary. */
  path?: string;
  sha256?: string | null;
  /** "source": no published binary; the release workflow builds it. */
  build?: 'source';
}

export interface ConduitManifest {
  version: string;
  tag: string;
  source: string;
  baseUrl: string;
  targets: Record<string, ConduitTarget>;
}

export class FetchConduitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchConduitError';
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
  /** Download and print the sha256 instead of installing: for pinning a new release on a trusted machine. */
  printSha256?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export type FetchConduitResult =
  { installed: string; sha256: string; skipped: boolean } | { printed: string; sha256: string };

export const MANIFEST_FILE = fileURLToPath(new URL('./conduit-release.json', import.meta.url));

export async function readManifest(file = MANIFEST_FILE): Promise<ConduitManifest> {
  return JSON.parse(await readFile(file, 'utf8')) as ConduitManifest;
}

export function binaryName(target: string): string {
  return target.startsWith('win32-') ? 'conduit.exe' : 'conduit';
}

async function sha256Of(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  } catch {
    return undefined;
  }
}

export async function fetchConduit(o: FetchConduitOptions): Promise<FetchConduitResult> {
  const log = o.log ?? (() => undefined);
  const entry = o.manifest.targets[o.target];
  if (!entry) {
    throw new FetchConduitError(
      `No Conduit build is pinned for ${o.target}. Pinned targets: ${Object.keys(o.manifest.targets).join(', ')}. Use an external homeserver on this machine.`,
    );
  }
  const dest = join(o.resourcesDir, 'bin', o.target, binaryName(o.target));
  if (entry.build === 'source' || !entry.path) {
    throw new FetchConduitError(
      `Conduit publishes no ${o.target} binary. The release workflow (.github/workflows/release.yml) builds it from ${o.manifest.source} at ${o.manifest.tag}; ` +
        `to build it here: git clone --branch ${o.manifest.tag} ${o.manifest.source} && cargo build --release --locked, then copy target/release/${binaryName(o.target)} to ${dest}.`,
    );
  }
  const expected = entry.sha256?.toLowerCase();
  if (!expected && !o.printSha256) {
    throw new FetchConduitError(
      `Checksum not pinned for this target (${o.target}, Conduit ${o.manifest.tag}): run with --print-sha256 on a trusted machine and pin it in scripts/conduit-release.json.`,
    );
  }
  if (expected && !o.printSha256 && (await sha256Of(dest)) === expected) {
    log(`Conduit ${o.manifest.tag} for ${o.target} is already in place: ${dest}`);
    return { installed: dest, sha256: expected, skipped: true };
  }

  const url = `${(o.baseUrl ?? o.manifest.baseUrl).replace(/\/+$/, '')}/${entry.path}`;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.download-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  try {
    log(`Downloading Conduit ${o.manifest.tag} for ${o.target} from ${url}`);
    let res: Response;
    try {
      res = await (o.fetch ?? fetch)(url, {
        signal: AbortSignal.timeout(o.timeoutMs ?? 10 * 60_000),
        redirect: 'follow',
      });
    } catch (err) {
      throw new FetchConduitError(
        `Cannot download ${url}: ${describe(err)}. Check the network, or set AGENT_ROOM_CONDUIT_BASE_URL to a mirror.`,
      );
    }
    if (!res.ok || !res.body)
      throw new FetchConduitError(
        `Download of ${url} failed: HTTP ${res.status} ${res.statusText}. The pinned release may have moved: check ${o.manifest.source} for ${o.manifest.tag}.`,
      );
    try {
      const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(tmp, { mode: 0o644 }));
    } catch (err) {
      throw new FetchConduitError(`The download of ${url} was cut off: ${describe(err)}. Run it again.`);
    }
    const actual = hash.digest('hex');
    if (o.printSha256) {
      await rm(tmp, { force: true });
      log(`sha256 of ${url}: ${actual}`);
      return { printed: url, sha256: actual };
    }
    if (actual !== expected) {
      throw new FetchConduitError(
        `Checksum mismatch for ${url}: expected ${expected}, got ${actual}. The file was not installed; do not use it. If the release was re-published on purpose, pin the new sha256 after checking it.`,
      );
    }
    await chmod(tmp, 0o755);
    await rename(tmp, dest);
    log(`Installed Conduit ${o.manifest.tag} for ${o.target} at ${dest}`);
    return { installed: dest, sha256: actual, skipped: false };
  } finally {
    await rm(tmp, { force: true });
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ');
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  try {
    const result = await fetchConduit({
      manifest: await readManifest(arg('--manifest') ?? MANIFEST_FILE),
      target: arg('--target') ?? `${process.platform}-${process.arch}`,
      resourcesDir: arg('--resources') ?? join(repoRoot, 'resources'),
      baseUrl: arg('--base-url') ?? env.AGENT_ROOM_CONDUIT_BASE_URL,
      printSha256: argv.includes('--print-sha256'),
      log: (line) => console.log(line),
    });
    if ('printed' in result) console.log(result.sha256);
    return 0;
  } catch (err) {
    console.error(err instanceof FetchConduitError ? err.message : err);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
