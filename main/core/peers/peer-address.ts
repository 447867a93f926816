// Where this machine answers peers: the listener's port (peers.port, or the one picked at the first start and kept
// in <data>/state/peers/listener.json), the host in the URL a pairing code carries, and the name it pairs under.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Settings } from '../../common/settings-schema.ts';
import { peersDir } from './peer-tls.ts';
import { writeStateFile } from './state-file.ts';

const listenerFile = (stateDir: string): string => join(peersDir(stateDir), 'listener.json');

export async function keptPort(stateDir: string): Promise<number | undefined> {
  try {
    const port = (JSON.parse(await readFile(listenerFile(stateDir), 'utf8')) as { port?: unknown }).port;
    return typeof port === 'number' && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

export async function keepPort(stateDir: string, port: number): Promise<void> {
  await writeStateFile(listenerFile(stateDir), { port });
}

/** A free port on the host now (the kernel's pick). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The port the listener uses: the setting, else the kept one, else a free one (kept from now on). */
export async function listenerPort(stateDir: string, settings: Settings): Promise<number> {
  if (settings.peers.port > 0) return settings.peers.port;
  const kept = await keptPort(stateDir);
  if (kept) return kept;
  const port = await freePort(settings.peers.lanAccess ? '0.0.0.0' : '127.0.0.1');
  await keepPort(stateDir, port);
  return port;
}

/** The first IPv4 address of a network interface that is up and not loopback; undefined when none. */
export function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

/** The host other machines reach: this machine's LAN address with LAN access on, else loopback (this machine only). */
export function advertisedHost(settings: Settings): string {
  return settings.peers.lanAccess || settings.api.lanAccess ? (lanAddress() ?? '127.0.0.1') : '127.0.0.1';
}

/** peers.name, else the host name made into one (lower case, letters, digits, . _ -). */
export function machineName(settings: Settings, host = hostname()): string {
  if (settings.peers.name) return settings.peers.name;
  const made = host
    .toLowerCase()
    .replace(/\.local$/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 41);
  return made || 'agent-room';
}
