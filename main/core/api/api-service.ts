// The desktop app's API server: the same /v1 handler serve mounts on its control server, on its own HTTP server
// on control.port, started while `api.enabled` is on and moved or stopped when the settings change (127.0.0.1, or
// every interface with `api.lanAccess`). serve does not use this: its control server already answers /v1.
import { createServer, type Server } from 'node:http';
import { BaseService, errorMessage } from '../lifecycle/service.ts';
import type { Logger } from '../logging/logger.ts';
import type { SettingsStore } from '../settings/settings-store.ts';
import { ApiError, sendApiError } from './api-errors.ts';
import { ApiHandler } from './api-handler.ts';

export interface ApiServiceOptions {
  handler: ApiHandler;
  settings: SettingsStore;
  logger?: Logger;
}

export class ApiService extends BaseService {
  readonly name = 'api';
  #server: Server | undefined;
  /** host:port the server listens on; undefined when off. */
  #bound: string | undefined;
  #unsubscribe: (() => void) | undefined;
  #applying: Promise<void> = Promise.resolve();
  #port = 0;

  constructor(private readonly o: ApiServiceOptions) {
    super();
  }

  /** The base URL on this machine while on. */
  get url(): string | undefined {
    return this.#bound ? `http://127.0.0.1:${this.#port}/v1` : undefined;
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

  /** Listens where the settings say (one change at a time). */
  #apply(): Promise<void> {
    this.#applying = this.#applying.then(() => this.#reconcile());
    return this.#applying;
  }

  async #reconcile(): Promise<void> {
    const s = this.o.settings.get();
    const host = s.api.lanAccess ? '0.0.0.0' : '127.0.0.1';
    const want = s.api.enabled ? `${host}:${s.control.port}` : undefined;
    if (want === this.#bound && (want === undefined || this.#server)) {
      if (want === undefined) this.setState({ status: 'running', detail: 'off (api.enabled is false)' });
      return;
    }
    await this.#close();
    if (want === undefined) {
      this.setState({ status: 'running', detail: 'off (api.enabled is false)' });
      return;
    }
    try {
      await this.#listen(host, s.control.port);
      this.#bound = want;
      this.o.handler.baseUrl = this.url;
      this.setState({ status: 'running', detail: `${this.url}${s.api.lanAccess ? ' (LAN access on)' : ''}` });
    } catch (err) {
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      this.setState({
        status: 'degraded',
        error: inUse ? `Port ${s.control.port} is already in use.` : `The API could not start: ${errorMessage(err)}`,
        hint: 'Choose another port in settings (control.port), or stop the program that uses it.',
      });
    }
  }

  #listen(host: string, port: number): Promise<void> {
    const handler = this.o.handler;
    const server = createServer((req, res) => {
      const pathname = new URL(req.url ?? '/', 'http://x').pathname;
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (!ApiHandler.handles(pathname)) {
        sendApiError(
          res,
          new ApiError(404, `Unknown request URL: ${pathname}.`, 'invalid_request_error', 'unknown_url'),
        );
        return;
      }
      handler.handle(req, res, pathname).catch((err: unknown) => {
        this.o.logger?.error({ err: errorMessage(err) }, 'API request failed');
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

  async #close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#bound = undefined;
    this.o.handler.baseUrl = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}
