// The bundled homeserver as a Service: writes conduit.toml, runs Conduit as a child process (conduit-child.ts), counts it
// as running only once /_matrix/client/versions answers, restarts it after a crash with capped backoff,
// gives up on a crash loop, and stops it with SIGTERM then SIGKILL. A pid file lets the next start find
// and stop a homeserver left behind by a crashed app.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { SecretStore } from '../settings/secret-store.ts';
import { ConduitBinaryNotFoundError, resolveConduitBinary, type SpawnCommand } from './binary.ts';
import {
  bindAddress,
  clientUrl,
  DEFAULT_MAX_REQUEST_SIZE,
  firstLanAddress,
  renderConduitToml,
  type DatabaseBackend,
} from './conduit-config.ts';
import {
  describeExit,
  HomeserverCrashLoopError,
  HomeserverDataDirError,
  HomeserverError,
  HomeserverNotReadyError,
} from './errors.ts';
import { chooseKeptPort, removePidFile } from './process-tools.ts';
import { killChild, spawnConduit, stopStale, type Running } from './conduit-child.ts';
import { DEFAULT_RESTART_POLICY, decideRestart, type RestartPolicy } from './restart-policy.ts';
import { RotatingLog } from './rotating-log.ts';
import { redactText } from '../logging/redact-text.ts';
import { sleep } from '../async.ts';
import { probeVersions } from './probe.ts';

export const REGISTRATION_TOKEN_SECRET = 'homeserver.registrationToken';

export interface BundledHomeserverSettings {
  serverName: string;
  /** 0 = pick a free port and keep it. */
  port: number;
  lanAccess: boolean;
  binaryPath?: string;
}

export interface SupervisorOptions {
  /** <data>/homeserver and <data>/logs. */
  homeserverDir: string;
  logsDir: string;
  settings: BundledHomeserverSettings | (() => BundledHomeserverSettings);
  secrets: SecretStore;
  /** Where bin/<platform>-<arch>/conduit lives (process.resourcesPath when packaged). */
  resourcesDir?: string;
  /** Replaces binary resolution: tests run `node conduit-stand-in.ts`. */
  command?: SpawnCommand;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  fetch?: typeof fetch;
  databaseBackend?: DatabaseBackend;
  maxRequestSizeBytes?: number;
  /** Conduit's log filter. */
  logLevel?: string;
  restartPolicy?: Partial<RestartPolicy>;
  readyTimeoutMs?: number;
  /** How long SIGTERM gets before SIGKILL. */
  stopGraceMs?: number;
  lanAddress?: () => string | undefined;
  logMaxBytes?: number;
}

export class HomeserverSupervisor extends BaseService {
  readonly name = 'homeserver';
  readonly #o: SupervisorOptions;
  readonly #policy: RestartPolicy;
  readonly #log: RotatingLog;
  #running: Running | undefined;
  #crashes: number[] = [];
  #stopping = false;
  #abort = new AbortController();
  #restartTimer: NodeJS.Timeout | undefined;
  #restarting: Promise<void> | undefined;
  #command: SpawnCommand | undefined;
  #address = '127.0.0.1';
  #port = 0;
  #token: string | undefined;

  constructor(options: SupervisorOptions) {
    super();
    this.#o = options;
    this.#policy = { ...DEFAULT_RESTART_POLICY, ...options.restartPolicy };
    this.#log = new RotatingLog({ file: join(options.logsDir, 'homeserver.log'), maxBytes: options.logMaxBytes });
  }

  get configFile(): string {
    return join(this.#o.homeserverDir, 'conduit.toml');
  }
  get pidFile(): string {
    return join(this.#o.homeserverDir, 'conduit.pid');
  }
  get logFile(): string {
    return this.#log.file;
  }
  /** The client-server API base URL; set once the homeserver has been started. */
  get url(): string | undefined {
    return this.#port ? clientUrl(this.#address, this.#port) : undefined;
  }
  get serverName(): string {
    return this.#settings().serverName;
  }
  get registrationToken(): string | undefined {
    return this.#token;
  }
  /** The child's pid while it runs. */
  get pid(): number | undefined {
    return this.#running?.child.pid;
  }

  #settings(): BundledHomeserverSettings {
    const s = this.#o.settings;
    return typeof s === 'function' ? s() : s;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.#stopping = false;
    this.#abort = new AbortController();
    this.#crashes = [];
    this.setState({ status: 'starting' });
    try {
      this.#command =
        this.#o.command ??
        resolveConduitBinary({
          resourcesDir: this.#o.resourcesDir ?? join(process.cwd(), 'resources'),
          settingsPath: this.#settings().binaryPath,
          env: this.#o.env,
        });
      await this.#prepareDirs();
      await stopStale(this.pidFile, this.#o.stopGraceMs ?? 5000, this.#o.logger);
      this.#token = await this.#registrationToken();
      await this.#launchUntilReady(AbortSignal.any([signal, this.#abort.signal]));
      this.setState({ status: 'running', detail: this.url });
    } catch (err) {
      await this.#killChild(2000);
      if (!this.#stopping) {
        const hint =
          err instanceof HomeserverError || err instanceof ConduitBinaryNotFoundError
            ? err.hint
            : `See ${this.logFile}.`;
        this.setState({ status: 'failed', error: errorMessage(err), hint });
      }
      throw err;
    }
  }

  async stop(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    this.#abort.abort(new Error('The homeserver is stopping.'));
    clearTimeout(this.#restartTimer);
    this.setState({ status: 'stopping' });
    await this.#killChild(Math.max(100, Math.min(this.#o.stopGraceMs ?? 5000, deadlineMs - 500)));
    await this.#restarting?.catch(() => undefined);
    await removePidFile(this.pidFile);
    this.#log.close();
    this.setState({ status: 'stopped' });
  }

  async #prepareDirs(): Promise<void> {
    const dir = this.#o.homeserverDir;
    try {
      await mkdir(join(dir, 'database'), { recursive: true });
      await writeFile(join(dir, '.write-test'), 'ok');
      await rm(join(dir, '.write-test'), { force: true });
    } catch (err) {
      throw new HomeserverDataDirError(dir, errorMessage(err), { cause: err });
    }
  }

  async #registrationToken(): Promise<string> {
    const existing = await this.#o.secrets.get(REGISTRATION_TOKEN_SECRET);
    if (existing) return existing;
    const token = randomBytes(24).toString('base64url');
    await this.#o.secrets.set(REGISTRATION_TOKEN_SECRET, token);
    return token;
  }

  async #launchUntilReady(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const outcome = await this.#launchOnce(signal);
      if (outcome === 'ready') return;
      signal.throwIfAborted();
      const delay = this.#nextDelay(outcome);
      this.#o.logger?.warn({ exit: outcome, delayMs: delay }, 'the homeserver exited before it was ready; retrying');
      await sleep(delay, signal);
    }
  }

  /** Records a crash; returns the backoff or throws the crash-loop error. */
  #nextDelay(exit: string): number {
    const now = Date.now();
    this.#crashes.push(now);
    const decision = decideRestart(this.#crashes, now, this.#policy);
    if (decision.action === 'give-up')
      throw new HomeserverCrashLoopError(decision.recentCrashes, this.#policy.windowMs, exit, this.logFile);
    return decision.delayMs;
  }

  async #launchOnce(signal: AbortSignal): Promise<'ready' | string> {
    const settings = this.#settings();
    this.#address = bindAddress(
      settings.lanAccess,
      settings.lanAccess ? (this.#o.lanAddress ?? firstLanAddress)() : undefined,
    );
    this.#port = await chooseKeptPort(
      join(this.#o.homeserverDir, 'port'),
      settings.port,
      this.#address,
      this.#o.logger,
    );
    await writeFile(
      this.configFile,
      renderConduitToml({
        serverName: settings.serverName,
        databasePath: join(this.#o.homeserverDir, 'database'),
        // The Windows build is made without RocksDB (see .github/workflows/release.yml).
        databaseBackend: this.#o.databaseBackend ?? (process.platform === 'win32' ? 'sqlite' : 'rocksdb'),
        address: this.#address,
        port: this.#port,
        registrationToken: this.#token,
        maxRequestSizeBytes: this.#o.maxRequestSizeBytes ?? DEFAULT_MAX_REQUEST_SIZE,
        logLevel: this.#o.logLevel ?? 'warn',
      }),
      { mode: 0o600 }, // it holds the registration token
    );
    const running = this.#spawn();
    const exitInfo = running.exited.then((e) => describeExit(e.code, e.signal, this.#outputTail(running)));
    const ready = probeVersions(this.url!, {
      fetch: this.#o.fetch,
      timeoutMs: this.#o.readyTimeoutMs ?? 60_000,
      signal,
      until: exitInfo,
    });
    const result = await ready.catch(async (err: unknown) => {
      await this.#killChild(2000);
      if (signal.aborted) throw err;
      throw new HomeserverNotReadyError(this.url!, this.#o.readyTimeoutMs ?? 60_000, this.logFile);
    });
    if (result === 'ready') {
      void running.exited.then((e) => this.#onExit(running, e.code, e.signal));
      return 'ready';
    }
    return result;
  }

  #spawn(): Running {
    const running = spawnConduit(this.#command!, {
      env: this.#o.env ?? process.env,
      configFile: this.configFile,
      pidFile: this.pidFile,
      log: this.#log,
      secrets: () => [this.#token],
    });
    this.#running = running;
    void running.exited.then(() => {
      if (this.#running === running) this.#running = undefined;
    });
    return running;
  }

  /** A crash after the homeserver was running: restart with backoff, or report the crash loop. */
  #onExit(running: Running, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopping || this.#running) return;
    const exit = describeExit(code, signal, this.#outputTail(running));
    let delay: number;
    try {
      delay = this.#nextDelay(exit);
    } catch (err) {
      this.#o.logger?.error({ exit }, 'homeserver crash loop; giving up');
      void removePidFile(this.pidFile);
      this.setState({ status: 'failed', error: errorMessage(err), hint: (err as HomeserverError).hint });
      return;
    }
    this.#o.logger?.warn({ exit, delayMs: delay }, 'the homeserver exited; restarting');
    this.setState({
      status: 'degraded',
      error: `The homeserver exited (${exit}); restarting in ${delay} ms.`,
      hint: `See ${this.logFile}.`,
    });
    this.#restartTimer = setTimeout(() => {
      const signal = this.#abort.signal;
      this.#restarting = this.#launchUntilReady(signal).then(
        () => this.setState({ status: 'running', detail: this.url }),
        async (err: unknown) => {
          if (this.#stopping) return;
          await this.#killChild(2000);
          this.setState({
            status: 'failed',
            error: errorMessage(err),
            hint: err instanceof HomeserverError ? err.hint : `See ${this.logFile}.`,
          });
        },
      );
    }, delay);
  }

  /** The child's last output for error messages, which reach the status page and the console: redacted too. */
  #outputTail(running: Running): string {
    return redactText(running.output, [this.#token]);
  }

  /** SIGTERM, wait up to graceMs, then SIGKILL; resolves once the child is gone. */
  async #killChild(graceMs: number): Promise<void> {
    const running = this.#running;
    if (!running) return;
    await killChild(running, graceMs, this.#o.logger);
    if (this.#running === running) this.#running = undefined;
    await removePidFile(this.pidFile);
  }
}
