// The control API for serve mode: the same contract as Electron's IPC, over HTTP and a WebSocket on
// loopback, guarded by a per-session token and an origin check. Also serves the chat window's files.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ControlError,
  dispatch,
  EVENTS,
  type ControlErrorCode,
  type EventSource,
  type Handlers,
} from '../../common/contract.ts';
import type { Logger } from '../logging/logger.ts';
import { chatContentType, chatCsp } from './chat-csp.ts';
import { renderStatusPage } from './status-page.ts';

/** Something answering a path prefix on the same port with its own authentication (the /v1 API). */
export interface MountedApi {
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void>;
}

export interface ControlServerOptions {
  /** 127.0.0.1 by default; 0.0.0.0 when the person turned LAN access on. */
  host?: string;
  port: number;
  /** Required on every /api request (Authorization: Bearer, or ?token= for the WebSocket). */
  token?: string;
  handlers: Handlers;
  /** Events pushed to every connected window over the WebSocket. */
  events?: EventSource;
  /** Unauthenticated: service states only, nothing private. */
  health: () => unknown;
  /** Folder of the built chat window (dist/renderer); when missing, / shows the status page. */
  staticDir?: string;
  logger?: Logger;
  /** The chat page's Content-Security-Policy; serve passes one that names an external homeserver. */
  csp?: () => string;
  /** Largest request body accepted, bytes. */
  maxBodyBytes?: number;
  /** The OpenAI-compatible API under /v1: its own Bearer keys, neither the control token nor the Origin check. */
  v1?: MountedApi;
}

export class ControlServerError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(`${message} ${hint}`);
    this.name = 'ControlServerError';
  }
}

/** The chat window's policy: the same one the desktop shell's app:// protocol sends (chat-csp.ts). */
export const CHAT_CSP = chatCsp();

export class ControlServer {
  readonly token: string;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  readonly #sockets = new Set<WebSocket>();
  #port = 0;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(private readonly options: ControlServerOptions) {
    this.token = options.token ?? randomBytes(24).toString('base64url');
  }

  get port(): number {
    return this.#port;
  }

  /** The address on this machine (loopback, also when listening on every interface). */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${this.#port}`;
  }

  /** The address a person opens: the token travels in the fragment, never to the server's logs. */
  get openUrl(): string {
    return `${this.url}/#token=${this.token}`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.options.logger?.error({ err: String(err) }, 'control request failed');
        if (!res.headersSent) sendError(res, new ControlError('Internal', 'Internal error.'));
        else res.end();
      });
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/api/events' || !this.#originOk(req) || !this.#tokenOk(url.searchParams.get('token'))) {
        socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.#sockets.add(ws);
        ws.on('close', () => this.#sockets.delete(ws));
      });
    });
    await new Promise<void>((resolvePromise, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE')
          reject(
            new ControlServerError(
              `Port ${this.options.port} is already in use.`,
              'Stop the other program or start with --port <another port>.',
            ),
          );
        else reject(err);
      });
      server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => resolvePromise());
    });
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : this.options.port;
    this.#server = server;
    this.#wss = wss;
    const events = this.options.events;
    if (events)
      for (const name of EVENTS) this.#unsubscribe.push(events.on(name, (payload) => this.broadcast(name, payload)));
  }

  /** Sends an event to every connected window. */
  broadcast(channel: string, payload: unknown): void {
    const data = JSON.stringify({ channel, payload });
    for (const ws of this.#sockets) if (ws.readyState === ws.OPEN) ws.send(data);
  }

  async close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const ws of this.#sockets) ws.terminate();
    this.#wss?.close();
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  #tokenOk(given: string | null | undefined): boolean {
    if (!given) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Browsers send Origin on cross-site requests: only our own page may call the API. */
  #originOk(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const host = req.headers.host;
    return origin === `http://${host}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (this.options.v1 && (url.pathname === '/v1' || url.pathname.startsWith('/v1/'))) {
      await this.options.v1.handle(req, res, url.pathname);
      return;
    }
    if (url.pathname === '/health' && req.method === 'GET') {
      sendJson(res, 200, this.options.health());
      return;
    }
    if (url.pathname === '/status' && req.method === 'GET') {
      res.writeHead(200, {
        'Content-Type': chatContentType('status.html'),
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
      });
      res.end(renderStatusPage(this.options.health()));
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      await this.#api(url.pathname.slice('/api/'.length), req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, new ControlError('BadRequest', 'Only GET here.'), 405);
      return;
    }
    this.#static(url.pathname, res);
  }

  async #api(channel: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#originOk(req)) {
      sendError(res, new ControlError('Forbidden', 'Requests from other origins are refused.'));
      return;
    }
    const auth = req.headers.authorization;
    if (!this.#tokenOk(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)) {
      sendError(
        res,
        new ControlError('Forbidden', 'Missing or wrong control token.', {
          hint: 'Open the address agent-room serve printed: it carries the token.',
        }),
        401,
      );
      return;
    }
    if (req.method !== 'POST') {
      sendError(res, new ControlError('BadRequest', 'Use POST with a JSON body.'), 405);
      return;
    }
    let body: unknown;
    try {
      const text = await readBody(req, this.options.maxBodyBytes ?? 1_000_000);
      body = text.length === 0 ? undefined : JSON.parse(text);
    } catch (err) {
      sendError(res, new ControlError('BadRequest', `The request body is not valid JSON: ${(err as Error).message}`));
      return;
    }
    const result = await dispatch(this.options.handlers, channel, body);
    if (result.ok) sendJson(res, 200, { ok: true, value: result.value ?? null });
    else {
      if (result.error.code === 'Internal')
        this.options.logger?.warn({ channel, err: result.error.message }, 'control handler failed');
      sendJson(res, STATUS[result.error.code], result);
    }
  }

  #static(pathname: string, res: ServerResponse): void {
    const dir = this.options.staticDir;
    if (!dir || !existsSync(join(dir, 'index.html'))) {
      res.writeHead(302, { Location: '/status' });
      res.end();
      return;
    }
    const root = resolve(dir);
    let file = normalize(join(root, decodeURIComponent(pathname)));
    if (file !== root && !file.startsWith(root + sep)) {
      sendError(res, new ControlError('NotFound', 'Not found.'));
      return;
    }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
    const type = chatContentType(file);
    const headers: Record<string, string> = { 'Content-Type': type };
    if (type.startsWith('text/html')) headers['Content-Security-Policy'] = this.options.csp?.() ?? CHAT_CSP;
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  }
}

const STATUS: Record<ControlErrorCode, number> = {
  BadRequest: 400,
  Forbidden: 403,
  NotFound: 404,
  Unavailable: 503,
  Conflict: 409,
  Internal: 500,
};

function sendError(res: ServerResponse, err: ControlError, status = STATUS[err.code]): void {
  sendJson(res, status, { ok: false, error: err.toPayload() });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
