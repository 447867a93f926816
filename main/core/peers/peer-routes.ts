// The peer listener's own requests, beside /v1: POST /peer/pair (a one-time code's secret buys a key named
// `peer:<the other machine>`, with this machine's models and hardware) and GET /peer/info (the same facts again, for
// a key's holder). Errors have the API's shape, {"error": {"message", "type", "code"}}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiKeyError, type ApiKeyStore } from '../api/api-keys.ts';
import type { Logger } from '../logging/logger.ts';
import type { PairingStore } from './pairing-store.ts';
import type { PeerHardware } from './peer-store.ts';

export interface PeerRouteDeps {
  pairing: PairingStore;
  keys: ApiKeyStore;
  /** This machine's name (settings, else its host name). */
  name: () => string;
  hardware: () => Promise<PeerHardware>;
  modelIds: (signal: AbortSignal) => Promise<string[]>;
  logger?: Logger;
}

/** What a machine learns of another when it pairs, and on each refresh. */
export interface PeerInfo {
  name: string;
  models: string[];
  hardware: PeerHardware;
}

export interface PairReply extends PeerInfo {
  /** The API key the other machine uses from now on (shown this once). */
  key: string;
  keyName: string;
}

const PEER_NAME = /^[a-z0-9][a-z0-9._-]{0,40}$/;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { error: { message, type: 'invalid_request_error', param: null, code } });
}

async function readBody(req: IncomingMessage, limit = 16 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) return undefined;
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

async function info(deps: PeerRouteDeps, signal: AbortSignal): Promise<PeerInfo> {
  const [models, hardware] = await Promise.all([deps.modelIds(signal).catch(() => []), deps.hardware()]);
  return { name: deps.name(), models, hardware };
}

/** POST /peer/pair {secret, name}: once per code, before it expires. */
export async function handlePair(req: IncomingMessage, res: ServerResponse, deps: PeerRouteDeps): Promise<void> {
  const body = (await readBody(req)) as { secret?: unknown; name?: unknown } | undefined;
  const secret = typeof body?.secret === 'string' ? body.secret : undefined;
  const name = typeof body?.name === 'string' ? body.name : undefined;
  if (!secret || !name || !PEER_NAME.test(name)) {
    fail(res, 400, 'invalid_value', 'Send {"secret": <the code’s secret>, "name": <your machine’s name, lower case>}.');
    return;
  }
  const used = await deps.pairing.consume(secret, name);
  if (!used.ok) {
    deps.logger?.warn({ peer: name, reason: used.reason }, 'pairing refused');
    fail(
      res,
      403,
      `pairing_${used.reason}`,
      `${used.message} Run \`agent-room peer pair\` on this machine for a new code.`,
    );
    return;
  }
  const keyName = `peer:${name}`;
  try {
    // Pairing again replaces the key the other machine had.
    await deps.keys.revoke(keyName);
    const { key } = await deps.keys.create(keyName);
    const reply: PairReply = { ...(await info(deps, AbortSignal.timeout(5000))), key, keyName };
    deps.logger?.info({ peer: name, key: keyName }, 'paired with a peer');
    send(res, 200, reply);
  } catch (err) {
    const message = err instanceof ApiKeyError ? `${err.message} ${err.hint ?? ''}` : String(err);
    fail(res, 500, 'pairing_failed', `The key for this pairing could not be made: ${message}`);
  }
}

/** GET /peer/info with a key: this machine's name, models and hardware now. */
export async function handleInfo(req: IncomingMessage, res: ServerResponse, deps: PeerRouteDeps): Promise<void> {
  const given = req.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  const keyName = given ? await deps.keys.verify(given) : undefined;
  if (keyName === undefined) {
    fail(res, 401, 'invalid_api_key', 'This needs the key pairing gave you (Authorization: Bearer ar-…).');
    return;
  }
  send(res, 200, await info(deps, AbortSignal.timeout(5000)));
}
