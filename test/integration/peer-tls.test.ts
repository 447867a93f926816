// The peer's certificate and the pinned fetch on real sockets: the certificate is made once and kept (key 0600); a
// request reaches a server whose certificate has the pinned SHA-256, and nothing at all reaches one with another
// certificate; a server that never finishes the handshake fails within the connect limit; a closed port at once.
import { mkdtempSync, statSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedFetch } from '../../main/core/peers/pinned-fetch.ts';
import { certificateFingerprint, ensurePeerCertificate, type PeerCertificate } from '../../main/core/peers/peer-tls.ts';

let cert: PeerCertificate;
let server: Server;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  cert = await ensurePeerCertificate(mkdtempSync(join(tmpdir(), 'agent-room-tls-')));
  server = createHttpsServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-test': 'yes' });
      res.write(`data: ${JSON.stringify({ got: body })}\n\n`);
      setTimeout(() => res.end('data: [DONE]\n\n'), 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

async function failure(p: Promise<unknown>): Promise<{ message: string; code: unknown }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { message: string; cause?: { code?: unknown; message?: string } },
  );
  expect(err).toBeInstanceOf(TypeError);
  return { message: err!.cause?.message ?? err!.message, code: err!.cause?.code };
}

describe("the peer's certificate", () => {
  it('is made once and kept: the key readable by this user only, the fingerprint the certificate’s SHA-256', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-room-tls-'));
    const first = await ensurePeerCertificate(dir);
    const again = await ensurePeerCertificate(dir);
    expect(again).toEqual(first);
    expect(statSync(join(dir, 'peers', 'tls-key.pem')).mode & 0o777).toBe(0o600);
    expect(first.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(certificateFingerprint(first.cert)).toBe(first.fingerprint);
    // Two at once (pair and serve starting together) agree on one certificate.
    const fresh = mkdtempSync(join(tmpdir(), 'agent-room-tls-'));
    const [x, y] = await Promise.all([ensurePeerCertificate(fresh), ensurePeerCertificate(fresh)]);
    expect(x.fingerprint).toBe(y.fingerprint);
  });
});

describe('pinnedFetch', () => {
  it('talks to the pinned certificate: headers, a body both ways, a streamed answer', async () => {
    const f = pinnedFetch({ fingerprint: cert.fingerprint });
    const res = await f(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer ar-secret', 'content-type': 'application/json' },
      body: '{"hello":1}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-test')).toBe('yes');
    expect(await res.text()).toBe(`data: {"got":"{\\"hello\\":1}"}\n\ndata: [DONE]\n\n`);
    expect(seen.at(-1)).toBe('POST /v1/chat/completions Bearer ar-secret');
  });

  it('refuses any other certificate before a byte of the request (its key above all) is sent', async () => {
    const before = seen.length;
    const other = await ensurePeerCertificate(mkdtempSync(join(tmpdir(), 'agent-room-tls-')));
    const f = pinnedFetch({ fingerprint: other.fingerprint });
    const e = await failure(f(`${url}/peer/pair`, { method: 'POST', headers: { authorization: 'Bearer ar-secret' } }));
    expect(e.code).toBe('ERR_PEER_CERTIFICATE');
    expect(e.message).toMatch(/presented a certificate whose SHA-256 is .* not the pinned .*: refused/);
    expect(seen.length).toBe(before);
  });

  it('gives up on a server that never finishes the handshake within the connect limit, and at once on a closed port', async () => {
    const sockets: Socket[] = [];
    const silent: TcpServer = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const t0 = Date.now();
    const slow = await failure(
      pinnedFetch({ fingerprint: cert.fingerprint, connectTimeoutMs: 300 })(`https://127.0.0.1:${port}/v1/models`),
    );
    expect(slow.code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    const refused = await failure(
      pinnedFetch({ fingerprint: cert.fingerprint })(`https://127.0.0.1:${port}/v1/models`),
    );
    expect(refused.code).toBe('ECONNREFUSED');
  });

  it('stops with the caller’s signal, and never speaks plain http', async () => {
    const f = pinnedFetch({ fingerprint: cert.fingerprint });
    const abort = new AbortController();
    abort.abort();
    await expect(f(`${url}/v1/models`, { signal: abort.signal })).rejects.toThrow(/abort/i);
    await expect(f('http://127.0.0.1:1/v1/models')).rejects.toThrow(/over https only/);
  });
});
