// The peer listener: HTTPS with this machine's own certificate (peer-tls.ts) on peers.port (127.0.0.1, or every
// interface with peers.lanAccess or api.lanAccess), answering the same /v1 as the API with the same keys, and the
// pairing requests (peer-routes.ts). serve runs it while peers.enabled is on; the desktop app only when api.enabled
// is on too. Settings changes move or stop it; with peers.advertise it is announced on the LAN (peer-mdns.ts).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Settings } from '../../common/settings-schema.ts';
import { ApiError, sendApiError } from '../api/api-errors.ts';
import { ApiHandler } from '../api/api-handler.ts';
import type { ApiKeyStore } from '../api/api-keys.ts';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { InferencePlan } from '../probe/plan.ts';
import type { SettingsStore } from '../settings/settings-store.ts';
import { freePort, keepPort, listenerPort, machineName } from './peer-address.ts';
import { advertise, type Advertised, type Mdns } from './peer-mdns.ts';
import { hardwareSummary } from './peer-recommend.ts';
import { handleInfo, handlePair, type PeerRouteDeps } from './peer-routes.ts';
import { PairingStore } from './pairing-store.ts';
import { ensurePeerCertificate } from './peer-tls.ts';

export interface PeerServiceOptions {
  stateDir: string;
  settings: SettingsStore;
  api: ApiHandler;
  keys: ApiKeyStore;
  getPlan: () => Promise<{ plan: InferencePlan }>;
  shell: 'serve' | 'desktop';
  logger?: Logger;
  /** Tests replace bonjour-service. */
  mdns?: () => Mdns;
}

export class PeerService extends BaseService {
  readonly name = 'peers';
  #server: Server | undefined;
  #bound: string | undefined;
  #port = 0;
  #fingerprint = '';
  #advertised: Advertised | undefined;
  #unsubscribe: (() => void) | undefined;
  #applying: Promise<void> = Promise.resolve();
  readonly #routes: PeerRouteDeps;

  constructor(private readonly o: PeerServiceOptions) {
    super();
    this.#routes = {
      pairing: new PairingStore(o.stateDir),
      keys: o.keys,
      name: () => machineName(o.settings.get()),
      hardware: async () => hardwareSummary((await o.getPlan()).plan),
      modelIds: (signal) => o.api.modelIds(signal),
      ...(o.logger ? { logger: o.logger } : {}),
    };
  }

  /** The listener's base URL on this machine while it runs. */
  get url(): string | undefined {
    return this.#server ? `https://127.0.0.1:${this.#port}/v1` : undefined;
  }

  get fingerprint(): string {
    return this.#fingerprint;
  }

  async start(_signal: AbortSignal): Promise<void> {
    this.setState({ status: 'starting' });
    this.#unsubscribe ??= this.o.settings.onChange(() => void this.#apply());
    await this.#apply();
  }

  async stop(_deadlineMs: number): Promise<void> {
    this.setState({ status: 'stopping' });
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#applying;
    await this.#close();
    this.setState({ status: 'stopped' });
  }

  #apply(): Promise<void> {
    this.#applying = this.#applying
      .then(() => this.#reconcile())
      .catch((err: unknown) => {
        this.setState({
          status: 'degraded',
          error: `Peers cannot be served: ${errorMessage(err)}`,
          hint: 'See the log.',
        });
      });
    return this.#applying;
  }

  #wanted(s: Settings): boolean {
    return s.peers.enabled && (this.o.shell === 'serve' || s.api.enabled);
  }

  async #reconcile(): Promise<void> {
    const s = this.o.settings.get();
    if (!this.#wanted(s)) {
      await this.#close();
      this.setState({ status: 'running', detail: `off (${s.peers.enabled ? 'api' : 'peers'}.enabled is false)` });
      return;
    }
    const host = s.peers.lanAccess || s.api.lanAccess ? '0.0.0.0' : '127.0.0.1';
    const port = await listenerPort(this.o.stateDir, s);
    const want = `${host}:${port}:${s.peers.advertise}:${machineName(s)}`;
    if (want === this.#bound && this.#server) return;
    await this.#close();
    const cert = await ensurePeerCertificate(this.o.stateDir);
    this.#fingerprint = cert.fingerprint;
    try {
      await this.#listen(host, port, cert);
    } catch (err) {
      // The kept port was taken meanwhile: pick another and keep that one (a set peers.port is the person's).
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || s.peers.port > 0) throw err;
      const other = await freePort(host);
      await keepPort(this.o.stateDir, other);
      await this.#listen(host, other, cert);
    }
    this.#bound = want;
    if (s.peers.advertise)
      this.#advertised = advertise(
        { name: machineName(s), port: this.#port, fingerprint: cert.fingerprint },
        (err) => this.o.logger?.warn({ err: err.message }, 'LAN announcement failed'),
        this.o.mdns,
      );
    const where = host === '0.0.0.0' ? `every interface, port ${this.#port}` : (this.url ?? '');
    this.setState({
      status: 'running',
      detail: `${where}${s.peers.advertise ? ', announced on the LAN' : ''}; pair with agent-room peer pair`,
    });
  }

  #listen(host: string, port: number, cert: { key: string; cert: string }): Promise<void> {
    const server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      this.#handle(req, res).catch((err: unknown) => {
        this.o.logger?.error({ err: errorMessage(err) }, 'peer request failed');
        if (!res.headersSent) sendApiError(res, new ApiError(500, 'Internal error.', 'server_error'));
        else res.end();
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        this.#port = typeof address === 'object' && address ? address.port : port;
        this.#server = server;
        resolve();
      });
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'https://x').pathname;
    const route = `${req.method ?? 'GET'} ${pathname.replace(/\/+$/, '')}`;
    if (route === 'POST /peer/pair') return handlePair(req, res, this.#routes);
    if (route === 'GET /peer/info') return handleInfo(req, res, this.#routes);
    if (ApiHandler.handles(pathname)) return this.o.api.handle(req, res, pathname);
    sendApiError(
      res,
      new ApiError(
        404,
        `Unknown request URL: ${route}. Peers answer /v1/…, POST /peer/pair and GET /peer/info.`,
        'invalid_request_error',
        'unknown_url',
      ),
    );
  }

  async #close(): Promise<void> {
    const server = this.#server;
    const advertised = this.#advertised;
    this.#server = undefined;
    this.#advertised = undefined;
    this.#bound = undefined;
    await advertised?.stop();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
