// The app:// scheme the packaged chat window loads from: privileged before ready, serving only the
// renderer folder with the right content types and the chat CSP, refusing traversal, other hosts and
// other origins; and the one CSP both the shell and serve send.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import { chatContentType, chatCsp } from '../../main/core/control/chat-csp.ts';
import { APP_PAGE_URL, registerAppScheme, resolveAppFile, serveAppProtocol } from '../../main/electron/app-protocol.ts';
import { electronMock, resetElectronMock } from '../support/electron-mock.ts';

// The start of every wasm module: the magic number and version 1.
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const CSP = chatCsp();
let dir: string;
let root: string;
let warnings: string[];

beforeEach(() => {
  resetElectronMock();
  dir = mkdtempSync(join(tmpdir(), 'agent-room-protocol-'));
  root = join(dir, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Agent Room</title>');
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'matrix_sdk_crypto_wasm_bg-x.wasm'), WASM);
  // Beside the served folder: what a traversal would be after.
  writeFileSync(join(dir, 'secret.txt'), 'access token');
  warnings = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function serve() {
  electronMock.app.fireReady();
  serveAppProtocol({ rootDir: root, csp: () => CSP, logger: { warn: (obj) => warnings.push(JSON.stringify(obj)) } });
  return electronMock.protocol.request;
}

describe('app:// scheme', () => {
  it('is registered as privileged before ready, standard and secure with fetch, without CORS or a CSP bypass', () => {
    registerAppScheme();
    expect(electronMock.protocol.privileged).toEqual([
      {
        scheme: 'app',
        privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: false, stream: true },
      },
    ]);
    electronMock.app.fireReady();
    expect(() => registerAppScheme()).toThrow(/before app is ready/);
  });

  it('serves index.html as the page, with the CSP header', async () => {
    const request = serve();
    for (const url of [
      APP_PAGE_URL,
      'app://agent-room/',
      'app://agent-room',
      'app://agent-room/index.html?x=1#/room',
    ]) {
      const res = await request(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toContain('<title>Agent Room</title>');
    }
  });

  it('serves the crypto wasm as application/wasm, byte for byte, and scripts as JavaScript', async () => {
    const request = serve();
    const wasm = await request('app://agent-room/assets/matrix_sdk_crypto_wasm_bg-x.wasm', {
      initiatorOrigin: 'app://agent-room',
    });
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(wasm.headers.get('content-length')).toBe(String(WASM.length));
    expect(wasm.headers.get('content-security-policy')).toBe(CSP);
    expect(Buffer.from(await wasm.arrayBuffer())).toEqual(WASM);
    // What matrix-sdk-crypto-wasm does with it: streaming compilation needs exactly this type.
    await expect(
      WebAssembly.compileStreaming(request('app://agent-room/assets/matrix_sdk_crypto_wasm_bg-x.wasm')),
    ).resolves.toBeInstanceOf(WebAssembly.Module);
    const js = await request('app://agent-room/assets/index-abc.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const head = await request('app://agent-room/assets/index-abc.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it.each([
    ['app://agent-room/..%2fsecret.txt', 403],
    ['app://agent-room/..%2Fsecret.txt', 403],
    ['app://agent-room/assets/..%5c..%5csecret.txt', 403],
    ['app://agent-room/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd', 403],
    // Literal ../ and %2e%2e/ are dot segments the URL parser folds to /secret.txt: inside the root, where there is none.
    ['app://agent-room/%2e%2e/secret.txt', 404],
    ['app://agent-room/../secret.txt', 404],
    ['app://agent-room/assets/../../secret.txt', 404],
    ['app://other-host/index.html', 403],
    ['app://agent-room.evil/index.html', 403],
    ['app://agent-room/%00index.html', 400],
    ['app://agent-room/%E0%A4%A', 400],
    ['app://agent-room/missing.js', 404],
    ['app://agent-room/assets', 404],
    ['app://agent-room/assets/', 404],
  ])('refuses %s with %i and never reads outside the folder', async (url, status) => {
    const request = serve();
    const res = await request(url);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(await res.text()).not.toContain('access token');
    expect(warnings.length).toBe(1);
  });

  it('refuses other methods and requests other origins make', async () => {
    const request = serve();
    const post = await request(APP_PAGE_URL, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    for (const initiatorOrigin of ['https://evil.example', 'null', 'http://127.0.0.1:8008', 'file://']) {
      expect((await request(APP_PAGE_URL, { initiatorOrigin })).status, initiatorOrigin).toBe(403);
    }
    expect((await request(APP_PAGE_URL, { initiatorOrigin: 'app://agent-room' })).status).toBe(200);
  });

  it('is handled only after ready, and only once', () => {
    expect(() => serveAppProtocol({ rootDir: root, csp: () => CSP })).toThrow(/before app is ready/);
    serve();
    expect(electronMock.protocol.isProtocolHandled('app')).toBe(true);
    expect(() => serveAppProtocol({ rootDir: root, csp: () => CSP })).toThrow(/Failed to register/);
  });

  it.each([
    ['app://agent-room/index.html', 'index.html'],
    ['app://agent-room/', 'index.html'],
    ['app://AGENT-ROOM/assets/a.js', 'assets/a.js'],
    ['app://agent-room/assets/./a%20b.css', 'assets/a b.css'],
  ])('resolveAppFile(%s) is %s under the root', (url, rel) => {
    expect(resolveAppFile(url, '/srv/renderer')).toEqual({ ok: true, file: `/srv/renderer/${rel}` });
  });

  it.each([
    'file:///srv/renderer/index.html',
    'http://127.0.0.1/index.html',
    'https://agent-room/index.html',
    'nonsense',
  ])('resolveAppFile refuses %s', (url) => {
    expect(resolveAppFile(url, '/srv/renderer').ok).toBe(false);
  });
});

describe('chat CSP and content types', () => {
  it('is strict: scripts and wasm from us only, no inline code, loopback Matrix over http and ws', () => {
    const csp = chatCsp();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:* http://localhost:* ws://127.0.0.1:* ws://localhost:*");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).not.toMatch(/connect-src[^;]* https:( |;|$)/);
  });

  it('adds a configured external or LAN homeserver, and the dev server only in development', () => {
    const csp = chatCsp({
      homeserverUrls: [
        'https://matrix.example.org/_matrix/',
        'http://192.168.1.20:6167',
        undefined,
        'javascript:alert(1)',
        'not a url',
      ],
    });
    expect(csp).toContain(
      "connect-src 'self' http://127.0.0.1:* http://localhost:* ws://127.0.0.1:* ws://localhost:* https://matrix.example.org http://192.168.1.20:6167;",
    );
    expect(csp).toContain('img-src');
    expect(csp).not.toContain('javascript');
    const dev = chatCsp({ devServerUrl: 'http://localhost:5173/' });
    expect(dev).toContain("script-src 'self' http://localhost:5173 'wasm-unsafe-eval'");
    expect(dev).toContain('ws://localhost:5173');
    expect(dev).toContain("style-src 'self' http://localhost:5173 'unsafe-inline'");
  });

  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['/a/b/matrix_sdk_crypto_wasm_bg.WASM', 'application/wasm'],
    ['x.js', 'text/javascript; charset=utf-8'],
    ['x.css', 'text/css; charset=utf-8'],
    ['C:\\dist\\logo.svg', 'image/svg+xml'],
    ['assets.d/noext', 'application/octet-stream'],
    ['x.exe', 'application/octet-stream'],
  ])('chatContentType(%s) = %s', (file, type) => expect(chatContentType(file)).toBe(type));
});
