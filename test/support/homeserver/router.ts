// HTTP plumbing: route matching on /_matrix/client/{r0,v1,v3}/…, body parsing, auth, CORS, rate limits and faults.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MatrixError, limitExceeded, missingToken, notJson, tooLarge, unknownToken, unrecognized } from './errors.ts';
import type { Store } from './store.ts';

export interface Caller {
  userId: string;
  deviceId: string;
  token: string;
}

export interface Ctx {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON for JSON routes; raw bytes for `raw` routes. */
  body: unknown;
  raw: Buffer;
  headers: IncomingMessage['headers'];
  caller: Caller;
  /** Aborted when the client disconnects or the server closes: long-polls end on it. */
  signal: AbortSignal;
}

export interface Reply {
  status?: number;
  body?: unknown;
  bytes?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}
export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** e.g. 'client:/rooms/:roomId/send/:type/:txnId'; ':name?' marks an optional trailing segment. */
  pattern: string;
  auth: 'required' | 'optional' | 'none';
  raw?: boolean;
  handler: Handler;
}

/** A fault applied to matching requests, for reliability tests. */
export interface Fault {
  path: string | RegExp;
  method?: string;
  /** 'error500': a 500 M_UNKNOWN; 'garbage': 200 with a body that is not JSON; 'drop': the socket is destroyed. */
  respond?: 'error500' | 'garbage' | 'drop';
  delayMs?: number;
  /** How many requests it applies to; unlimited when omitted. */
  times?: number;
}

export interface RateLimit {
  /** Requests allowed per window, per access token (or per address when unauthenticated). */
  maxRequests: number;
  windowMs: number;
  /** Only paths that match are limited; all when omitted. */
  path?: string | RegExp;
}

const PREFIXES: Record<string, RegExp> = {
  client: /^\/_matrix\/client\/(?:r0|v1|v3|unstable)(\/.*)$/,
  media: /^\/_matrix\/media\/(?:r0|v1|v3)(\/.*)$/,
  authmedia: /^\/_matrix\/client\/v1\/media(\/.*)$/,
  root: /^(\/.*)$/,
};

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const [prefix, rest] = pattern.split(':/', 2) as [string, string];
  const m = PREFIXES[prefix]?.exec(path);
  if (!m) return undefined;
  // A trailing slash is insignificant ("/pushrules/" = "/pushrules"; "/state/m.room.name/" has an empty state key).
  const want = rest.split('/').filter((w, i, a) => w !== '' || i < a.length - 1);
  const got = (m[1] as string).slice(1).split('/');
  if (got.length > 1 && got[got.length - 1] === '') got.pop();
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i];
    if (w.startsWith(':')) {
      const optional = w.endsWith('?');
      const name = w.slice(1, optional ? -1 : undefined);
      if (g === undefined) {
        if (!optional) return undefined;
        continue;
      }
      try {
        params[name] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) return undefined;
  }
  if (got.length > want.length) return undefined;
  return params;
}

function pathMatches(p: string | RegExp, path: string): boolean {
  return typeof p === 'string' ? path === p || path.includes(p) : p.test(path);
}

export interface RouterOptions {
  store: Store;
  routes: Route[];
  maxRequestSize: number;
  faults: Fault[];
  rateLimit?: RateLimit;
  closing: AbortSignal;
  log: (msg: string, obj?: Record<string, unknown>) => void;
}

const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization',
};

export function createRequestHandler(opts: RouterOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const windows = new Map<string, { start: number; count: number }>();
  const send = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json', ...CORS, ...extra });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS).end();
      return;
    }
    const fault = opts.faults.find(
      (f) =>
        pathMatches(f.path, path) &&
        (f.method === undefined || f.method === method) &&
        (f.times === undefined || f.times > 0),
    );
    if (fault) {
      if (fault.times !== undefined) fault.times -= 1;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.respond === 'drop') return void req.socket.destroy();
      if (fault.respond === 'error500')
        return send(res, 500, { errcode: 'M_UNKNOWN', error: 'Internal server error (injected fault)' });
      if (fault.respond === 'garbage') {
        res.writeHead(200, { 'Content-Type': 'application/json', ...CORS });
        return void res.end('{"this is not": json');
      }
    }
    let route: Route | undefined;
    let params: Record<string, string> | undefined;
    let pathKnown = false;
    for (const r of opts.routes) {
      const p = matchPattern(r.pattern, path);
      if (!p) continue;
      pathKnown = true;
      if (r.method === method) {
        route = r;
        params = p;
        break;
      }
    }
    if (!route || !params) throw unrecognized(pathKnown ? 405 : 404);

    const token = (
      req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ??
      url.searchParams.get('access_token') ??
      undefined
    )?.trim();
    let caller: Caller = { userId: '', deviceId: '', token: '' };
    if (route.auth !== 'none' && token !== undefined) {
      const t = opts.store.tokens.get(token);
      if (!t) throw unknownToken();
      caller = { ...t, token };
    } else if (route.auth === 'required') throw missingToken();

    const rl = opts.rateLimit;
    if (rl && (rl.path === undefined || pathMatches(rl.path, path))) {
      const key = caller.token || req.socket.remoteAddress || '';
      const now = Date.now();
      let w = windows.get(key);
      if (!w || now - w.start >= rl.windowMs) windows.set(key, (w = { start: now, count: 0 }));
      w.count += 1;
      if (w.count > rl.maxRequests) {
        const retry = Math.max(1, w.start + rl.windowMs - now);
        throw Object.assign(limitExceeded(retry), { retryHeader: String(Math.ceil(retry / 1000)) });
      }
    }

    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > opts.maxRequestSize) throw tooLarge('Request body too large');
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    let body: unknown;
    if (!route.raw && raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw notJson();
      }
    }
    const ac = new AbortController();
    const abort = (): void => ac.abort();
    res.on('close', abort);
    opts.closing.addEventListener('abort', abort);
    try {
      const reply = await route.handler({
        method,
        path,
        params,
        query: url.searchParams,
        body,
        raw,
        headers: req.headers,
        caller,
        signal: ac.signal,
      });
      if (reply.bytes) {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, {
          'Content-Type': reply.contentType ?? 'application/octet-stream',
          ...CORS,
          ...reply.headers,
        });
        res.end(reply.bytes);
      } else send(res, reply.status ?? 200, reply.body ?? {}, reply.headers);
    } finally {
      opts.closing.removeEventListener('abort', abort);
    }
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof MatrixError) {
        const retry = (err as MatrixError & { retryHeader?: string }).retryHeader;
        send(res, err.status, err.body(), retry ? { 'Retry-After': retry } : {});
      } else {
        opts.log('handler failed', { err: String((err as Error)?.stack ?? err) });
        send(res, 500, { errcode: 'M_UNKNOWN', error: 'Internal server error' });
      }
    });
  };
}
