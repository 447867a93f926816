// A protocol-faithful Matrix homeserver (client-server API) for tests: in-process, on 127.0.0.1, optionally
// persisted to a directory. Entry point: startHomeserver().
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Hs, HsConfig } from './context.ts';
import { createEncryption } from './encryption-routes.ts';
import { createRequestHandler, type Fault, type RateLimit, type Route } from './router.ts';
import { authRoutes } from './routes-auth.ts';
import { eventRoutes } from './routes-events.ts';
import { mediaRoutes } from './routes-media.ts';
import { miscRoutes } from './routes-misc.ts';
import { roomRoutes } from './routes-rooms.ts';
import { Store } from './store.ts';
import { syncRoutes, type SyncContributor } from './sync.ts';

export type { Fault, RateLimit, Route, Ctx, Caller, Reply } from './router.ts';
export type { Hs, HsConfig } from './context.ts';
export type { SyncContributor } from './sync.ts';
export { MatrixError } from './errors.ts';

/** Anything with pino's method shape; a pino Logger fits. */
export interface HomeserverLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HomeserverOptions {
  serverName: string;
  port?: number;
  host?: string;
  /** Journal and media live here; a restart on the same directory keeps everything. In memory when omitted. */
  dataDir?: string;
  /** Registration requires this token (m.login.registration_token); without it m.login.dummy registers. */
  registrationToken?: string;
  /** Default true; false answers /register with 403 M_FORBIDDEN. */
  allowRegistration?: boolean;
  /** Largest request body in bytes (uploads included); default 20 MiB. */
  maxRequestSize?: number;
  defaultRoomVersion?: string;
  logger?: HomeserverLogger;
  /** Faults applied to matching requests; the array stays live (see Homeserver.faults). */
  faults?: Fault[];
  rateLimit?: RateLimit;
  /** More endpoints (e.g. encryption); they take precedence over the built-in ones. */
  extraRoutes?: (hs: Hs) => Route[];
  syncContributors?: SyncContributor[];
}

export interface Homeserver {
  /** e.g. http://127.0.0.1:43567 */
  url: string;
  port: number;
  serverName: string;
  /** Mutable: push, splice or replace entries to change faults while running. */
  faults: Fault[];
  setRateLimit(limit: RateLimit | undefined): void;
  /** The live state, for assertions (accounts, rooms, events). */
  hs: Hs;
  /** Ends long-polls and open connections at once, then stops listening. */
  close(): Promise<void>;
}

export async function startHomeserver(options: HomeserverOptions): Promise<Homeserver> {
  const config: HsConfig = {
    serverName: options.serverName,
    registrationToken: options.registrationToken,
    allowRegistration: options.allowRegistration ?? true,
    maxRequestSize: options.maxRequestSize ?? 20 * 1024 * 1024,
    defaultRoomVersion: options.defaultRoomVersion ?? '10',
  };
  const logger = options.logger;
  const hs: Hs = {
    store: new Store(options.dataDir),
    config,
    mediaDir: options.dataDir === undefined ? undefined : join(options.dataDir, 'media'),
    mediaBytes: new Map(),
    timers: new Set(),
    log: (msg, obj) => logger?.error(obj ?? {}, msg),
  };
  // End-to-end encryption (keys, to-device, backup) is always on, as on a real homeserver.
  const encryption = createEncryption(hs, options.dataDir);
  const routes: Route[] = [
    ...(options.extraRoutes?.(hs) ?? []),
    ...miscRoutes(hs),
    ...authRoutes(hs),
    ...roomRoutes(hs),
    ...eventRoutes(hs),
    ...syncRoutes(hs, [encryption.syncContributor, ...(options.syncContributors ?? [])]),
    ...mediaRoutes(hs),
    ...encryption.routes,
  ];
  const closing = new AbortController();
  const faults = options.faults ?? [];
  const routerOpts = {
    store: hs.store,
    routes,
    maxRequestSize: config.maxRequestSize,
    faults,
    rateLimit: options.rateLimit,
    closing: closing.signal,
    log: hs.log,
  };
  const server = createServer(createRequestHandler(routerOpts));
  // Long-polls hold connections open; keep-alive sockets would otherwise delay close().
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger?.info({ url, serverName: config.serverName }, 'homeserver listening');
  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    serverName: config.serverName,
    faults,
    hs,
    setRateLimit: (limit) => {
      routerOpts.rateLimit = limit;
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        for (const t of hs.timers) clearTimeout(t);
        hs.timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        logger?.info({}, 'homeserver stopped');
      });
      return closed;
    },
  };
}
