// A fetch for one paired peer: HTTPS to the peer's self-signed certificate, accepted only when its SHA-256 is the one
// pinned at pairing. No CA is asked, the host name is not checked (peers are reached by IP address), and the
// certificate is compared before the connection is handed to the request, so a wrong certificate never receives a
// byte of it (the API key above all). A connection that is not up within connectTimeoutMs fails, so a peer that is
// switched off costs seconds, not the operating system's two minutes, before the next model is tried.
import { Agent, request, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { displayFingerprint, normalizeFingerprint } from './peer-tls.ts';

export class PeerCertificateError extends Error {
  readonly code = 'ERR_PEER_CERTIFICATE';
  constructor(host: string, got: string | undefined, want: string) {
    super(
      `${host} presented a certificate whose SHA-256 is ${got ? displayFingerprint(got) : 'unknown'}, not the pinned ${displayFingerprint(want)}: refused. If that machine made a new certificate, pair with it again; otherwise something else answers at its address.`,
    );
    this.name = 'PeerCertificateError';
  }
}

class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(host: string, ms: number) {
    super(`${host} did not accept a TLS connection within ${ms} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

/** An https Agent whose connections count only once the peer's certificate matched the pin. */
class PinnedAgent extends Agent {
  constructor(
    private readonly fingerprint: string,
    private readonly connectTimeoutMs: number,
  ) {
    // No session reuse: every connection shows its certificate again.
    super({ keepAlive: false, maxCachedSessions: 0 });
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = `${options.host ?? options.hostname ?? 'the peer'}:${String(options.port ?? 443)}`;
    const socket: TLSSocket = connect({
      host: options.host ?? options.hostname ?? undefined,
      port: Number(options.port ?? 443),
      // Trust comes from the pin below, not from a CA or the name.
      rejectUnauthorized: false,
      ...(options.servername ? { servername: options.servername } : {}),
    });
    let settled = false;
    const done = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', done);
      if (err) socket.destroy();
      callback?.(err, socket);
    };
    const timer = setTimeout(() => done(new ConnectTimeoutError(host, this.connectTimeoutMs)), this.connectTimeoutMs);
    socket.once('error', done);
    socket.once('secureConnect', () => {
      const got = socket.getPeerCertificate()?.fingerprint256;
      const ok = typeof got === 'string' && normalizeFingerprint(got) === this.fingerprint;
      done(ok ? null : new PeerCertificateError(host, got, this.fingerprint));
    });
    return undefined;
  }
}

function headerObject(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  // forEach, not entries(): the DOM typings of the electron build have no iterator on Headers.
  new Headers(init).forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

export interface PinnedFetchOptions {
  fingerprint: string;
  connectTimeoutMs?: number;
}

/** A fetch (as much of it as the OpenAI backend and the pairing use) that talks only to the pinned certificate. */
export function pinnedFetch(options: PinnedFetchOptions): typeof fetch {
  const agent = new PinnedAgent(normalizeFingerprint(options.fingerprint), options.connectTimeoutMs ?? 3000);
  const pinned = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.protocol !== 'https:') {
        reject(new TypeError(`A peer is reached over https only, not ${url.href}`));
        return;
      }
      const method = init.method ?? 'GET';
      const req = request(url, {
        method,
        agent,
        headers: headerObject(init.headers),
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.once('response', (res) => {
        const status = res.statusCode ?? 502;
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (Array.isArray(v)) for (const x of v) headers.append(k, x);
          else if (v !== undefined) headers.set(k, v);
        }
        const empty = status === 204 || status === 304 || method === 'HEAD';
        if (empty) res.resume();
        const body = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
      });
      // fetch's shape: a TypeError whose cause carries the code (ECONNREFUSED, ERR_PEER_CERTIFICATE, …).
      req.once('error', (err) => reject(init.signal?.aborted ? err : new TypeError(err.message, { cause: err })));
      const body = init.body;
      if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
      else req.end();
    });
  return pinned as typeof fetch;
}
