// `agent-room serve`: starts the core services, the control API and the chat window on loopback,
// and stops everything cleanly on SIGINT/SIGTERM.
import { mkdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createLogger, type Logger } from '../core/logging/logger.ts';
import { dataPaths } from '../core/paths.ts';
import { createAppCore, type AppCore } from '../core/app/app-core.ts';
import { chatCsp } from '../core/control/chat-csp.ts';
import { ControlServer } from '../core/control/http-server.ts';
import {
  acquireDataFolderLock,
  DataFolderLockedError,
  type DataFolderLock,
} from '../core/lifecycle/data-folder-lock.ts';
import { displayFingerprint } from '../core/peers/peer-tls.ts';
import { distDir } from './dist-dir.ts';
import { startReport } from './start-report.ts';
import { serveRecordFile, type ServeRecord } from './status-command.ts';
import type { DataPaths } from '../core/paths.ts';

async function writeServeRecord(paths: DataPaths, controlUrl: string): Promise<void> {
  const record: ServeRecord = { pid: process.pid, controlUrl, startedAt: new Date().toISOString() };
  await mkdir(paths.state, { recursive: true });
  await writeFile(serveRecordFile(paths), `${JSON.stringify(record, null, 2)}\n`);
}

export interface ServeOptions {
  dataDir: string;
  port?: number;
  homeserverUrl?: string;
  registrationToken?: string;
  bots?: boolean;
  /** Tests pass false to keep signal handlers out of the test runner. */
  handleSignals?: boolean;
}

export const DEFAULT_CONTROL_PORT = 8765;
const STOP_DEADLINE_MS = 1500;

export async function runServe(options: ServeOptions): Promise<number> {
  const paths = dataPaths(options.dataDir);
  try {
    mkdirSync(paths.logs, { recursive: true });
  } catch (err) {
    console.error(
      `Cannot write to the data folder ${paths.root}: ${(err as Error).message}. Choose another with --data-dir, or fix its permissions.`,
    );
    return 1;
  }
  // Before anything else touches the folder, and above all before the homeserver service starts: its
  // clean-up of a homeserver "left running by an earlier run" is only right while no other app runs here.
  const lock = takeDataFolder(paths);
  if (!lock) return 1;
  const logger = createLogger({ logDir: paths.logs, name: 'app', console: true });
  // A library's stray promise (matrix-js-sdk's crypto request loop rejects one nobody awaits when it stops)
  // must not take down the homeserver, the bots and everything with it: log it and keep running.
  process.on('unhandledRejection', (reason) => {
    logger.error(
      { err: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason) },
      'unhandled promise rejection (kept running)',
    );
  });
  const core = await createAppCore({
    paths,
    logger,
    overrides: {
      homeserverUrl: options.homeserverUrl,
      registrationToken: options.registrationToken,
      bots: options.bots,
    },
  });
  for (const issue of core.settings.issues)
    console.error(`Settings: ${issue.path}: ${issue.message} (using the default for this key)`);
  const port = options.port ?? core.settings.get().control.port ?? DEFAULT_CONTROL_PORT;
  // LAN access for the API opens the whole control server (its /api keeps the token and the Origin check).
  const lan = core.settings.get().api.lanAccess;
  const control = new ControlServer({
    port,
    host: lan ? '0.0.0.0' : '127.0.0.1',
    v1: core.api,
    handlers: core.handlers,
    events: core.events,
    health: () => core.health(),
    staticDir: distDir('renderer'),
    // An external homeserver (--homeserver-url) must be reachable from the page; loopback always is.
    csp: () => chatCsp({ homeserverUrls: [core.matrix.homeserverUrl()] }),
    logger,
  });
  try {
    await control.listen();
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'control API could not start');
    console.error((err as Error).message);
    await core.host.stop(STOP_DEADLINE_MS);
    logger.flush();
    lock.release();
    return 1;
  }
  lock.update({ controlUrl: control.url });
  core.api.baseUrl = `${control.url}/v1`;

  const done = stopOnSignals(options, async (signal) => {
    logger.info({ signal }, 'stopping');
    await core.host.stop(STOP_DEADLINE_MS);
    await control.close();
    await core.close();
    await rm(serveRecordFile(paths), { force: true });
    lock.release();
    logger.info('stopped');
    logger.flush();
    return 0;
  });

  await writeServeRecord(paths, control.url);
  console.log(`Agent Room is starting. Chat window: ${control.openUrl}`);
  console.log(`Health: ${control.url}/health   Status page: ${control.url}/status   Data: ${paths.root}`);
  console.log(await apiLine(core, control.url, lan));
  await startServices(core, logger, control.url);
  if (core.peers.url)
    console.log(
      `Peers (TLS): ${core.peers.url}   certificate SHA-256 ${displayFingerprint(core.peers.fingerprint)}   pair: agent-room peer pair`,
    );
  return done;
}

/** Where the OpenAI-compatible API answers, and how to get a key when there is none. */
async function apiLine(core: AppCore, url: string, lan: boolean): Promise<string> {
  const keys = await core.apiKeys.count().catch(() => 0);
  const where = `OpenAI-compatible API: ${url}/v1${lan ? ' (LAN access on: every interface)' : ''}`;
  return keys > 0
    ? `${where}   ${keys} key(s); agent-room api-key list`
    : `${where}   no key yet: agent-room api-key create <name>`;
}

/** Resolves with the exit code once SIGINT or SIGTERM stopped everything (once; a third signal quits at once). */
function stopOnSignals(options: ServeOptions, stopAll: (signal: string) => Promise<number>): Promise<number> {
  let stopping: Promise<number> | undefined;
  return new Promise<number>((resolve) => {
    if (options.handleSignals === false) return;
    // `on`, not `once`: signal-exit (pulled in by node-llama-cpp's dependencies) re-raises a signal when
    // no other listener remains, which would kill the process before the clean stop finished.
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals === 3) {
        console.error('Quitting without waiting for services to stop.');
        process.exit(130);
      }
      stopping ??= stopAll(signal);
      void stopping.then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Starts the services and says honestly how that went; a failed start leaves the status page up. */
async function startServices(core: AppCore, logger: Logger, url: string): Promise<void> {
  try {
    await core.host.start();
    const report = startReport(core.host.report());
    if (report.ok) logger.info({ url }, 'ready');
    else logger.warn({ url }, 'started with problems');
    // One write: the logger's worker thread writes to stderr too, and must not land between these lines.
    (report.ok ? console.log : console.error)(report.lines.join('\n'));
  } catch (err) {
    // A required service failed: the control API stays up so the status page shows why.
    logger.error({ err: (err as Error).message }, 'start failed');
    const services = startReport(core.host.report()).lines.slice(1, -1);
    console.error(
      [
        `Start failed: ${(err as Error).message}`,
        ...services,
        'Nothing runs but the status page; fix this and start serve again.',
      ].join('\n'),
    );
  }
}

/** The data folder's lock, or undefined after telling the person who holds it. */
function takeDataFolder(paths: DataPaths): DataFolderLock | undefined {
  try {
    return acquireDataFolderLock(paths.root, { holder: 'serve' });
  } catch (err) {
    if (err instanceof DataFolderLockedError) {
      console.error(err.message);
      console.error(err.hint);
    } else {
      console.error(
        `Cannot write to the data folder ${paths.root}: ${(err as Error).message}. Choose another with --data-dir, or fix its permissions.`,
      );
    }
    return undefined;
  }
}
