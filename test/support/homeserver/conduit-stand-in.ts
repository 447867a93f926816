// An executable that behaves like the Conduit binary for the supervisor's tests: it reads conduit.toml from
// $CONDUIT_CONFIG (Conduit's convention), serves the test homeserver on [global] address:port, logs to stdout,
// exits 0 after SIGTERM/SIGINT, and exits 1 with a message on stderr for a bad config or a busy port.
// Run: node_modules/.bin/node test/support/homeserver/conduit-stand-in.ts
// Stand-in-only knobs (not Conduit's), for supervisor tests: STAND_IN_READY_DELAY_MS delays listening;
// STAND_IN_EXIT_AFTER_MS makes the process exit with code 101 (a crash) that long after it is ready.
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'smol-toml';
import { startHomeserver, type Homeserver } from './index.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

export interface StandInConfig {
  serverName: string;
  databasePath: string;
  address: string;
  port: number;
  allowRegistration: boolean;
  registrationToken?: string;
  allowFederation: boolean;
  maxRequestSize: number;
  log: string;
}

/** Reads conduit.toml text into a config, or throws an Error whose message says what to fix. */
export function parseConduitToml(text: string): StandInConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`invalid TOML: ${(err as Error).message}`, { cause: err });
  }
  const g = doc.global;
  if (typeof g !== 'object' || g === null) throw new Error('missing [global] section');
  const global = g as Record<string, unknown>;
  const str = (key: string, required: boolean): string | undefined => {
    const v = global[key];
    if (v === undefined) {
      if (required) throw new Error(`missing field \`${key}\` in [global]`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '') throw new Error(`[global] ${key} must be a non-empty string`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = global[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new Error(`[global] ${key} must be true or false`);
    return v;
  };
  const int = (key: string, fallback: number | undefined, min: number, max: number): number => {
    const v = global[key] ?? fallback;
    if (v === undefined) throw new Error(`missing field \`${key}\` in [global]`);
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
      throw new Error(`[global] ${key} must be an integer from ${min} to ${max}`);
    return n;
  };
  const log = str('log', false) ?? 'warn';
  const level = log.split(',')[0]?.split('=').at(-1) ?? 'warn';
  if (!LEVELS.includes(level)) throw new Error(`[global] log must be one of ${LEVELS.join(', ')}`);
  return {
    serverName: str('server_name', true) as string,
    databasePath: str('database_path', true) as string,
    address: str('address', false) ?? '127.0.0.1',
    port: int('port', 8000, 0, 65535),
    allowRegistration: bool('allow_registration', false),
    registrationToken: str('registration_token', false),
    allowFederation: bool('allow_federation', false),
    maxRequestSize: int('max_request_size', 20_000_000, 1, 2 ** 31 - 1),
    log: level,
  };
}

function out(level: string, configured: string, msg: string): void {
  if (LEVELS.indexOf(level) < LEVELS.indexOf(configured)) return;
  process.stdout.write(`${new Date().toISOString()}  ${level.toUpperCase().padStart(5)} conduit: ${msg}\n`);
}

async function main(): Promise<void> {
  const path = process.env.CONDUIT_CONFIG;
  if (!path) {
    process.stderr.write('Error: the CONDUIT_CONFIG environment variable must name the config file (conduit.toml)\n');
    process.exit(1);
  }
  let config: StandInConfig;
  try {
    config = parseConduitToml(readFileSync(path, 'utf8'));
  } catch (err) {
    process.stderr.write(`Error: could not load the config file ${path}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const level = config.log === 'warn' || config.log === 'error' ? 'info' : config.log; // startup lines always show
  const readyDelay = Number(process.env.STAND_IN_READY_DELAY_MS ?? 0);
  if (readyDelay > 0) await new Promise((r) => setTimeout(r, readyDelay));
  let hs: Homeserver;
  try {
    hs = await startHomeserver({
      serverName: config.serverName,
      host: config.address,
      port: config.port,
      dataDir: config.databasePath,
      allowRegistration: config.allowRegistration,
      registrationToken: config.registrationToken,
      maxRequestSize: config.maxRequestSize,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE' ? `the address ${config.address}:${config.port} is already in use` : (err as Error).message;
    process.stderr.write(`Error: could not start the server: ${why}\n`);
    process.exit(1);
  }
  out('info', level, `Loading database from ${config.databasePath}`);
  out(
    'info',
    level,
    `Listening on ${config.address}:${hs.port} as ${config.serverName}${config.allowFederation ? ' (federation is not supported by this stand-in)' : ''}`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    out('info', level, `Received ${signal}, shutting down`);
    void hs.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const exitAfter = Number(process.env.STAND_IN_EXIT_AFTER_MS ?? 0);
  if (exitAfter > 0) setTimeout(() => process.exit(101), exitAfter);
}

// Run as a program, not when a test imports parseConduitToml.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) void main();
