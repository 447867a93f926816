// Finds the Conduit executable: the AGENT_ROOM_CONDUIT override, the settings path, or the copy shipped
// under resources/bin/<platform>-<arch>/ (process.resourcesPath/bin/… inside a packaged Electron app).
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the supervisor spawns. Tests replace it with `node conduit-stand-in.ts`. */
export interface SpawnCommand {
  command: string;
  args: string[];
}

export interface BinaryLookup {
  /** The folder holding bin/<platform>-<arch>/: <repo>/resources in development, process.resourcesPath when packaged. */
  resourcesDir: string;
  /** settings.homeserver.binaryPath. */
  settingsPath?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
}

export const CONDUIT_ENV_OVERRIDE = 'AGENT_ROOM_CONDUIT';

export class ConduitBinaryNotFoundError extends Error {
  readonly hint: string;
  readonly tried: string[];
  constructor(tried: Array<{ source: string; path: string; problem: string }>) {
    const list = tried.map((t) => `${t.source} ${t.path} (${t.problem})`).join('; ');
    const hint =
      'Run `npm run fetch-conduit` to download the pinned Conduit build into resources/bin, set settings.homeserver.binaryPath ' +
      `or ${CONDUIT_ENV_OVERRIDE} to a Conduit executable, or use an external homeserver: set homeserver.mode "external" in settings, ` +
      'or run `agent-room serve --homeserver-url URL --registration-token T`.';
    super(`No usable Conduit homeserver executable was found: ${list}.`);
    this.name = 'ConduitBinaryNotFoundError';
    this.hint = hint;
    this.tried = tried.map((t) => t.path);
  }
}

/** resources/bin/<platform>-<arch>/conduit[.exe], the layout fetch-conduit writes and electron-builder ships. */
export function bundledBinaryPath(
  resourcesDir: string,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string {
  return join(resourcesDir, 'bin', `${platform}-${arch}`, platform === 'win32' ? 'conduit.exe' : 'conduit');
}

/** Why a path cannot be run, or undefined when it can. */
export function binaryProblem(path: string, platform: NodeJS.Platform = process.platform): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'not a file';
  } catch {
    return 'missing';
  }
  // Windows has no executable bit; elsewhere a download without chmod +x fails only at spawn time.
  if (platform === 'win32') return undefined;
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return 'not executable (chmod +x it)';
  }
}

/**
 * The first of: the environment override, the settings path, the bundled copy. An explicit choice
 * (environment or settings) that does not work is an error, not a silent fall-through, so a typo is seen.
 */
export function resolveConduitBinary(lookup: BinaryLookup): SpawnCommand {
  const env = lookup.env ?? process.env;
  const platform = lookup.platform ?? process.platform;
  const explicit: Array<{ source: string; path: string | undefined }> = [
    { source: `environment ${CONDUIT_ENV_OVERRIDE}`, path: env[CONDUIT_ENV_OVERRIDE] || undefined },
    { source: 'settings homeserver.binaryPath', path: lookup.settingsPath || undefined },
  ];
  for (const candidate of explicit) {
    if (!candidate.path) continue;
    const problem = binaryProblem(candidate.path, platform);
    if (problem) throw new ConduitBinaryNotFoundError([{ source: candidate.source, path: candidate.path, problem }]);
    return { command: candidate.path, args: [] };
  }
  const bundled = bundledBinaryPath(lookup.resourcesDir, platform, lookup.arch ?? process.arch);
  const problem = binaryProblem(bundled, platform);
  if (problem) throw new ConduitBinaryNotFoundError([{ source: 'bundled', path: bundled, problem }]);
  return { command: bundled, args: [] };
}
