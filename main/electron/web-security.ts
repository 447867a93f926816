// What the chat window may load, reach and open: the CSP, navigation and window.open rules, permissions.
// Pure rule functions first (tested without Electron), then the one function that wires them to a session.
import type { Session, WebContents } from 'electron';

export interface CspOptions {
  /** The Vite dev server in development (adds its origin and HMR socket, and inline styles Vite injects). */
  devServerUrl?: string;
  /** An external homeserver's URL, when settings use one (the bundled one is on loopback). */
  homeserverUrl?: string;
}

/**
 * The policy the renderer runs under. The packaged page is file://, where response headers do not
 * apply, so renderer/index.html must carry the same policy as a meta tag (rendererCsp() with no options);
 * the header set by installCsp covers the dev server. 'wasm-unsafe-eval' allows WebAssembly compilation
 * only (matrix-sdk-crypto-wasm for encrypted rooms), never eval().
 */
export function rendererCsp(options: CspOptions = {}): string {
  const extra = (...urls: Array<string | undefined>) => urls.filter((u): u is string => !!u).map((u) => new URL(u).origin);
  const dev = options.devServerUrl ? new URL(options.devServerUrl) : undefined;
  const devWs = dev ? `${dev.protocol === 'https:' ? 'wss' : 'ws'}://${dev.host}` : undefined;
  const homeserver = extra(options.homeserverUrl);
  const connect = ["'self'", 'http://127.0.0.1:*', 'http://localhost:*', 'ws://127.0.0.1:*', ...homeserver, ...extra(options.devServerUrl), ...(devWs ? [devWs] : [])];
  if (!options.homeserverUrl) connect.push('https:', 'wss:');
  const self = ["'self'", ...extra(options.devServerUrl)];
  return [
    "default-src 'none'",
    `script-src ${[...self, "'wasm-unsafe-eval'"].join(' ')}`,
    `style-src ${[...self, ...(dev ? ["'unsafe-inline'"] : [])].join(' ')}`,
    `img-src ${[...self, 'data:', 'blob:', 'http://127.0.0.1:*', ...homeserver].join(' ')}`,
    `media-src ${[...self, 'blob:', 'http://127.0.0.1:*', ...homeserver].join(' ')}`,
    `font-src ${[...self, 'data:'].join(' ')}`,
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** True when url is the app's own page (same file, or the dev server's origin): the only place the window may be. */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const target = new URL(url);
    const app = new URL(appUrl);
    if (app.protocol === 'file:') return target.protocol === 'file:' && target.pathname === app.pathname;
    return target.origin === app.origin;
  } catch {
    return false;
  }
}

/** Links to the web open in the system browser; everything else (file:, javascript:, custom schemes) is dropped. */
export function isExternalWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:' || protocol === 'mailto:';
  } catch {
    return false;
  }
}

/** The only permissions the page gets: writing to the clipboard (copy buttons) and full screen for media. */
export function isPermissionAllowed(permission: string): boolean {
  return permission === 'clipboard-sanitized-write' || permission === 'fullscreen';
}

export interface GuardOptions {
  appUrl: () => string;
  openExternal: (url: string) => void;
}

/** Denies navigation away from the app and every window.open; web links go to the system browser. */
export function guardNavigation(contents: WebContents, options: GuardOptions): void {
  const leave = (event: { preventDefault(): void }, url: string) => {
    if (isAppUrl(url, options.appUrl())) return;
    event.preventDefault();
    if (isExternalWebUrl(url)) options.openExternal(url);
  };
  contents.on('will-navigate', (event) => leave(event, event.url));
  contents.on('will-redirect', (event) => leave(event, event.url));
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalWebUrl(url)) options.openExternal(url);
    return { action: 'deny' };
  });
}

/** Sets the CSP header on every response of the session (dev server; file:// uses the meta tag) and denies permissions. */
export function installSessionPolicy(session: Session, csp: () => string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-security-policy') delete headers[key];
    headers['Content-Security-Policy'] = [csp()];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(isPermissionAllowed(permission)));
}
