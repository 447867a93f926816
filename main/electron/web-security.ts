// What the chat window may reach and open: navigation and window.open rules, permissions, and the CSP
// header (the policy itself is chatCsp in main/core/control/chat-csp.ts). Pure rule functions first
// (tested without Electron), then the functions that wire them to a window and a session.
import type { Session, WebContents } from 'electron';

/**
 * True when url is on the app's own origin (app://agent-room, or the dev server's origin): the only place
 * the window may be and the only page that may call the gateway. Compared as scheme and host, not as
 * URL.origin, which Node gives as "null" for every custom scheme. file: is never the app.
 */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const target = new URL(url);
    const app = new URL(appUrl);
    if (target.protocol === 'file:' || app.protocol === 'file:' || !app.host) return false;
    return target.protocol === app.protocol && target.host.toLowerCase() === app.host.toLowerCase();
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

/**
 * Sets the CSP header on every response of the session (the dev server's pages; app:// responses carry the
 * same policy from the protocol handler) and grants only the permissions above.
 */
export function installSessionPolicy(session: Session, csp: () => string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-security-policy') delete headers[key];
    headers['Content-Security-Policy'] = [csp()];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(isPermissionAllowed(permission)));
}
