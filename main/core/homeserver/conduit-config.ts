// conduit.toml from the app's settings: pure, so every rule (loopback unless LAN opted in, federation off,
// registration only with a token) is checked by table-driven tests. Written afresh at each start.
import { networkInterfaces } from 'node:os';
import { stringify } from 'smol-toml';

export type DatabaseBackend = 'rocksdb' | 'sqlite';

export interface ConduitConfigInput {
  serverName: string;
  /** Folder of the database, under <data>/homeserver. */
  databasePath: string;
  databaseBackend: DatabaseBackend;
  address: string;
  port: number;
  /** Registration is on only with a token; without one it is off. */
  registrationToken?: string;
  maxRequestSizeBytes: number;
  /** Conduit's `log` filter (tracing EnvFilter syntax), e.g. "warn". */
  logLevel: string;
}

export const DEFAULT_MAX_REQUEST_SIZE = 20 * 1024 * 1024;

export class ConduitConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConduitConfigError';
  }
}

export function conduitConfig(input: ConduitConfigInput): Record<string, unknown> {
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(input.serverName)) {
    throw new ConduitConfigError(
      `The server name "${input.serverName}" is not a valid Matrix server name: use a host name such as agent-room.localhost.`,
    );
  }
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535)
    throw new ConduitConfigError(`Port ${input.port} is outside 1–65535.`);
  const token = input.registrationToken;
  return {
    global: {
      server_name: input.serverName,
      database_backend: input.databaseBackend,
      database_path: input.databasePath,
      address: input.address,
      port: input.port,
      max_request_size: input.maxRequestSizeBytes,
      allow_registration: token !== undefined && token !== '',
      ...(token ? { registration_token: token } : {}),
      allow_federation: false,
      allow_check_for_updates: false,
      // Conduit asks trusted servers for keys of remote users; with federation off there are none.
      trusted_servers: [],
      allow_encryption: true,
      allow_room_creation: true,
      log: input.logLevel,
    },
  };
}

export function renderConduitToml(input: ConduitConfigInput): string {
  return `# Written by Agent Room at each start; edits here are overwritten.\n${stringify(conduitConfig(input))}\n`;
}

/** The address to bind: loopback unless the person opted in to LAN access and a LAN address exists. */
export function bindAddress(lanAccess: boolean, lanAddress: string | undefined): string {
  return lanAccess && lanAddress ? lanAddress : '127.0.0.1';
}

/** The first private IPv4 address of this machine, for LAN access. */
export function firstLanAddress(interfaces = networkInterfaces()): string | undefined {
  for (const list of Object.values(interfaces)) {
    for (const nic of list ?? []) {
      if (nic.family === 'IPv4' && !nic.internal) return nic.address;
    }
  }
  return undefined;
}

/** The URL clients on this machine use: the bound address (loopback or LAN) and the port. */
export function clientUrl(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
