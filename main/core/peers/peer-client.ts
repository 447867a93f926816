// The other side of pairing: `agent-room peer add` connects to the URL with the code's fingerprint pinned (any other
// certificate is refused before the secret leaves), trades the one-time secret for a key, and learns the peer's
// models and hardware; `peer list` and `probe` ask each paired peer again (GET /peer/info) and keep what they hear.
import type { PairingCode } from './pairing-code.ts';
import { pinnedFetch, PeerCertificateError } from './pinned-fetch.ts';
import type { PairReply, PeerInfo } from './peer-routes.ts';
import type { PeerRecord, PeerStore } from './peer-store.ts';

export class PeerError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

/** The base URL as kept: https, ending in /v1. */
export function peerBaseUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PeerError(`"${url}" is not a URL.`, 'Give the address `agent-room peer pair` printed (https://…/v1).');
  }
  if (u.protocol !== 'https:')
    throw new PeerError(`${url} is not https.`, 'Peers talk over TLS only: give the https:// address the code names.');
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path.endsWith('/v1') ? path : `${path}/v1`}`;
}

/** What a failed request to a peer means to a person: the certificate, the connection, or what it answered. */
function reachError(err: unknown, url: string): PeerError {
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof PeerCertificateError)
    return new PeerError(cause.message, 'Check that the code and the address belong to the same machine.');
  const code = (cause as { code?: unknown }).code;
  return new PeerError(
    `Cannot reach ${url}${typeof code === 'string' ? ` (${code})` : ''}: ${(cause as Error).message ?? String(cause)}.`,
    'Is agent-room serve running there? For another machine it must listen on the LAN (peers.lanAccess: true) and its firewall let the port through.',
  );
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || `HTTP ${res.status}`;
}

export interface PairOptions {
  url: string;
  code: PairingCode;
  /** This machine's name: the key made over there is `peer:<name>`. */
  myName: string;
  connectTimeoutMs: number;
}

/** Trades the code's secret for a key; throws PeerError saying what went wrong. */
export async function pairWith(o: PairOptions): Promise<PairReply & { url: string }> {
  const url = peerBaseUrl(o.url);
  const f = pinnedFetch({ fingerprint: o.code.fingerprint, connectTimeoutMs: o.connectTimeoutMs });
  let res: Response;
  try {
    res = await f(new URL('/peer/pair', url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret: o.code.secret, name: o.myName }),
      signal: AbortSignal.timeout(o.connectTimeoutMs + 10_000),
    });
  } catch (err) {
    throw reachError(err, url);
  }
  if (!res.ok)
    throw new PeerError(
      `${url} refused to pair (HTTP ${res.status}): ${await errorText(res)}`,
      'Ask for a new code there (agent-room peer pair) and use it within its time.',
    );
  const reply = (await res.json()) as PairReply;
  if (typeof reply.key !== 'string' || typeof reply.name !== 'string' || !Array.isArray(reply.models))
    throw new PeerError(`${url} answered the pairing with something else.`, 'Is it an Agent Room?');
  return { ...reply, url };
}

/** GET /peer/info with the peer's key. */
export async function fetchPeerInfo(
  peer: Pick<PeerRecord, 'url' | 'fingerprint'>,
  key: string,
  options: { connectTimeoutMs: number; timeoutMs: number },
): Promise<PeerInfo> {
  const f = pinnedFetch({ fingerprint: peer.fingerprint, connectTimeoutMs: options.connectTimeoutMs });
  let res: Response;
  try {
    res = await f(new URL('/peer/info', peer.url).href, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    throw reachError(err, peer.url);
  }
  if (!res.ok) throw new PeerError(`${peer.url} answered HTTP ${res.status}: ${await errorText(res)}`, '');
  return (await res.json()) as PeerInfo;
}

/** Asks every peer at once (each within timeoutMs) and keeps what it said, or that it did not answer. */
export async function refreshPeers(
  store: PeerStore,
  keyOf: (name: string) => Promise<string | undefined>,
  options: { connectTimeoutMs: number; timeoutMs: number; now?: () => Date },
): Promise<PeerRecord[]> {
  const peers = await store.list();
  const now = (options.now ?? (() => new Date()))().toISOString();
  await Promise.all(
    peers.map(async (p) => {
      let next: PeerRecord;
      try {
        const key = await keyOf(p.name);
        if (!key) throw new PeerError(`No key for "${p.name}" in the secret store.`, 'Pair again.');
        const info = await fetchPeerInfo(p, key, options);
        next = { ...p, models: info.models, hardware: info.hardware, checkedAt: now, reachable: true };
        delete next.error;
      } catch (err) {
        next = { ...p, checkedAt: now, reachable: false, error: (err as Error).message };
      }
      await store.update(p.name, (cur) => ({ ...next, trustedLocal: cur.trustedLocal }));
    }),
  );
  return store.list();
}
