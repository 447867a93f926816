// The chat window's Content-Security-Policy and the content types of its files: one definition shared
// by the desktop shell's app:// protocol (main/electron/app-protocol.ts) and serve's HTTP server, so the
// two cannot drift apart. Here in core rather than common because it parses URLs (a Node/browser global).

export interface ChatCspOptions {
  /** The Vite dev server in development (adds its origin, its HMR socket and the inline styles Vite injects). */
  devServerUrl?: string;
  /**
   * Homeserver addresses beyond loopback the page talks to: an external homeserver's URL, or the LAN
   * address when the page is opened from another device. Loopback is always allowed.
   */
  homeserverUrls?: ReadonlyArray<string | undefined>;
}

const LOOPBACK_HTTP = ['http://127.0.0.1:*', 'http://localhost:*'];
const LOOPBACK_WS = ['ws://127.0.0.1:*', 'ws://localhost:*'];

/** The origin of a URL, or undefined when it is not a usable http(s) address (a bad setting must not widen the policy). */
function webOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The policy the chat window runs under, sent as a response header wherever the page is served.
 * 'self' is app://agent-room in the desktop shell and the control server's origin in serve.
 * 'wasm-unsafe-eval' allows WebAssembly compilation only (matrix-sdk-crypto-wasm for encrypted rooms),
 * never eval(). No inline styles: React sets style props through the CSSOM and the sanitizer drops
 * style attributes from messages.
 */
export function chatCsp(options: ChatCspOptions = {}): string {
  const homeservers = (options.homeserverUrls ?? []).map(webOrigin).filter((o): o is string => !!o);
  const dev = options.devServerUrl ? new URL(options.devServerUrl) : undefined;
  const devOrigin = dev ? [dev.origin] : [];
  const devWs = dev ? [`${dev.protocol === 'https:' ? 'wss' : 'ws'}://${dev.host}`] : [];
  const self = ["'self'", ...devOrigin];
  const list = (...items: string[]) => [...new Set(items)].join(' ');
  return [
    "default-src 'none'",
    `script-src ${list(...self, "'wasm-unsafe-eval'")}`,
    `style-src ${list(...self, ...(dev ? ["'unsafe-inline'"] : []))}`,
    `img-src ${list(...self, 'data:', 'blob:', ...LOOPBACK_HTTP, ...homeservers)}`,
    `media-src ${list(...self, 'blob:', ...LOOPBACK_HTTP, ...homeservers)}`,
    `font-src ${list(...self, 'data:')}`,
    `connect-src ${list(...self, ...LOOPBACK_HTTP, ...LOOPBACK_WS, ...homeservers, ...devWs)}`,
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Content types of the files the built chat window is made of; wasm must be application/wasm for streaming compilation. */
export const CHAT_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type for a file name by its extension; unknown files are opaque bytes (never sniffed). */
export function chatContentType(fileName: string): string {
  const slash = Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\'));
  const dot = fileName.lastIndexOf('.');
  const ext = dot > slash ? fileName.slice(dot).toLowerCase() : '';
  return CHAT_CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
