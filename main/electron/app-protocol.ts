// The app:// scheme the packaged chat window loads from. file:// pages have an opaque origin: fetch()
// of the crypto wasm fails and IndexedDB (the Matrix crypto store) is not reliable there. A standard,
// secure scheme gives the page a real origin, app://agent-room, that serves only dist/renderer, with
// the right content types and the chat CSP on every response.
import { readFile, stat } from 'node:fs/promises';
import { relative, resolve, isAbsolute, sep } from 'node:path';
import { protocol, type CustomScheme, type Protocol } from 'electron';
import { chatContentType } from '../core/control/chat-csp.ts';

export const APP_SCHEME = 'app';
export const APP_HOST = 'agent-room';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** What the chat window loads when it is not on a dev server. */
export const APP_PAGE_URL = `${APP_ORIGIN}/index.html`;

/**
 * standard: relative URLs, a tuple origin and web storage (IndexedDB); secure: a secure context (WebCrypto,
 * as https); supportFetchAPI: the wasm is fetched; corsEnabled stays off so no other origin may read our files;
 * stream: media answers may arrive in pieces. Not bypassCSP: our own policy applies.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, stream: true },
};

/** Registers app:// as privileged. Electron allows this once, before the app is ready. */
export function registerAppScheme(target: Pick<Protocol, 'registerSchemesAsPrivileged'> = protocol): void {
  target.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
}

export type AppFileResolution = { ok: true; file: string } | { ok: false; status: 400 | 403 | 404; reason: string };

/** Which file under root a request URL names, or why none: pure, so every refusal is tested as a table. */
export function resolveAppFile(url: string, root: string): AppFileResolution {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host.toLowerCase() !== APP_HOST)
    return { ok: false, status: 403, reason: `another origin (${parsed.protocol}//${parsed.host})` };
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'a malformed escape in the path' };
  }
  if (path.includes('\0')) return { ok: false, status: 400, reason: 'a NUL byte in the path' };
  // The URL parser already folds literal ../ away; what is left after decoding (%2e%2e, %2f, %5c) is an attempt.
  const segments = path.split(/[/\\]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { ok: false, status: 403, reason: 'a path that climbs out of the app' };
  if (segments.length === 0) segments.push('index.html');
  const base = resolve(root);
  const file = resolve(base, ...segments);
  const rel = relative(base, file);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel))
    return { ok: false, status: 403, reason: 'a path outside the app' };
  return { ok: true, file };
}

export interface AppProtocolOptions {
  /** dist/renderer: the only folder served. */
  rootDir: string;
  /** The chat CSP, read at every response so a homeserver change applies at the next load. */
  csp: () => string;
  logger?: { warn(obj: object, msg: string): void };
}

/** The request handler behind protocol.handle('app', …). Never throws: every failure is an HTTP status. */
export function createAppRequestHandler(options: AppProtocolOptions): (request: Request) => Promise<Response> {
  const respond = (status: number, body: BodyInit | null, type: string, extra: Record<string, string> = {}) =>
    new Response(body, {
      status,
      headers: {
        'Content-Type': type,
        'Content-Security-Policy': options.csp(),
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
        ...extra,
      },
    });
  const refuse = (request: Request, status: number, reason: string, extra?: Record<string, string>) => {
    options.logger?.warn({ url: request.url, status, reason }, 'app protocol: refused a request');
    return respond(status, reason, 'text/plain; charset=utf-8', extra);
  };

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return refuse(request, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' });
    // Electron sets initiatorOrigin for requests web content makes (absent for the window's own load):
    // only our page may read our files, whatever a future CORS setting says.
    const initiator = (request as Request & { initiatorOrigin?: string }).initiatorOrigin;
    if (initiator !== undefined && initiator !== APP_ORIGIN) return refuse(request, 403, `a request from ${initiator}`);
    const target = resolveAppFile(request.url, options.rootDir);
    if (!target.ok) return refuse(request, target.status, target.reason);
    try {
      const info = await stat(target.file);
      if (!info.isFile()) return refuse(request, 404, 'not a file');
      // fs reads inside app.asar (Electron patches it); the largest file, the crypto wasm, is about 8 MB.
      const body = request.method === 'HEAD' ? null : new Uint8Array(await readFile(target.file));
      return respond(200, body, chatContentType(target.file), { 'Content-Length': String(info.size) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return refuse(request, 404, 'no such file');
      options.logger?.warn({ url: request.url, err: String(err) }, 'app protocol: a file could not be read');
      return respond(500, 'The file could not be read.', 'text/plain; charset=utf-8');
    }
  };
}

/** Serves app:// from rootDir (after app ready). The session's webRequest CSP header, when it runs, sets the same policy. */
export function serveAppProtocol(options: AppProtocolOptions, target: Pick<Protocol, 'handle'> = protocol): void {
  target.handle(APP_SCHEME, createAppRequestHandler(options));
}
