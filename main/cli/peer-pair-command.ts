// `agent-room peer pair` (this machine lends its models) and `agent-room peer add` (this machine uses another's).
// pair writes a one-time code into the data folder's state, so it works whether serve runs or not (the running peer
// listener reads it when the other machine pairs); add talks to the other machine and records the peer, which a
// running serve picks up at its next request.
import QRCode from 'qrcode';
import type { Settings } from '../common/settings-schema.ts';
import { dataFolderHolder, holderAlive } from '../core/lifecycle/data-folder-lock.ts';
import type { DataPaths } from '../core/paths.ts';
import { decodePairingCode, encodePairingCode, PairingCodeError } from '../core/peers/pairing-code.ts';
import { PairingStore, PAIRING_TTL_MS } from '../core/peers/pairing-store.ts';
import { advertisedHost, listenerPort, machineName } from '../core/peers/peer-address.ts';
import { pairWith, PeerError } from '../core/peers/peer-client.ts';
import { peerEndpointId, peerKeySecret, PeerStore } from '../core/peers/peer-store.ts';
import { displayFingerprint, ensurePeerCertificate } from '../core/peers/peer-tls.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';
import { loadSettings } from '../core/settings/settings-store.ts';

const quiet = { info: () => undefined, warn: () => undefined };

/** The settings as on disk, without writing anything back (serve may be running). */
export function readSettings(paths: DataPaths): Settings {
  return loadSettings({ file: paths.settings, logger: quiet, rewrite: false }).settings;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,40}$/;

export interface PairFlags {
  /** Seconds the code stays valid (default 600). */
  ttl?: number;
  /** The host name or address the code names instead of the one chosen. */
  host?: string;
  json?: boolean;
}

export async function runPeerPair(paths: DataPaths, flags: PairFlags, out = console.log): Promise<number> {
  const settings = readSettings(paths);
  if (!settings.peers.enabled) {
    console.error(
      'Peers are off here (peers.enabled is false): set it to true in the settings and start serve, then pair.',
    );
    return 1;
  }
  const cert = await ensurePeerCertificate(paths.state);
  const port = await listenerPort(paths.state, settings);
  const host = flags.host ?? advertisedHost(settings);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}/v1`;
  const ttlMs = (flags.ttl ?? PAIRING_TTL_MS / 1000) * 1000;
  const { secret, expiresAt } = await new PairingStore(paths.state).create(ttlMs);
  const name = machineName(settings);
  const code = encodePairingCode({ url, secret, fingerprint: cert.fingerprint, name });
  if (flags.json) {
    out(JSON.stringify({ code, url, name, fingerprint: cert.fingerprint, expiresAt: expiresAt.toISOString() }));
    return 0;
  }
  const holder = dataFolderHolder(paths.root);
  const running = holder !== undefined && holderAlive(holder) && holder.holder === 'serve';
  out(await QRCode.toString(code, { type: 'terminal', small: true }));
  out(`Pairing code for "${name}" (works once, until ${expiresAt.toLocaleTimeString()}):\n\n  ${code}\n`);
  out(`On the other machine run:\n\n  agent-room peer add ${url} ${code}\n`);
  out(`This machine's certificate: SHA-256 ${displayFingerprint(cert.fingerprint)}`);
  if (!running)
    out('serve is not running on this data folder: start it (agent-room serve) before the other machine pairs.');
  if (!settings.peers.lanAccess && !settings.api.lanAccess && !flags.host)
    out(
      'Peers are served on 127.0.0.1 only, so only this machine can pair: set peers.lanAccess to true (and restart serve) for other machines.',
    );
  return 0;
}

export interface AddFlags {
  /** The name this machine gives the peer (default: the name it pairs under). */
  name?: string;
  json?: boolean;
}

/** `peer add [<url>] <code>`: the URL defaults to the one in the code. */
export async function runPeerAdd(
  paths: DataPaths,
  urlOrCode: string,
  codeText: string | undefined,
  flags: AddFlags,
  out = console.log,
): Promise<number> {
  try {
    const code = decodePairingCode(codeText ?? urlOrCode);
    const url = codeText ? urlOrCode : code.url;
    const settings = readSettings(paths);
    const name = flags.name ?? code.name;
    if (!NAME.test(name))
      throw new PeerError(`"${name}" cannot name a peer.`, 'Give --name with lower-case letters, digits and . _ -.');
    const reply = await pairWith({
      url,
      code,
      myName: machineName(settings),
      connectTimeoutMs: settings.peers.connectTimeoutMs,
    });
    await new FileSecretStore({ file: paths.secrets }).set(peerKeySecret(name), reply.key);
    const store = new PeerStore(paths.state);
    const before = await store.get(name);
    await store.put({
      name,
      url: reply.url,
      fingerprint: code.fingerprint,
      trustedLocal: before?.trustedLocal ?? false,
      models: reply.models,
      hardware: reply.hardware,
      addedAt: new Date().toISOString(),
      checkedAt: new Date().toISOString(),
      reachable: true,
    });
    const endpoint = peerEndpointId(name);
    if (flags.json) {
      out(JSON.stringify({ name, endpoint, url: reply.url, models: reply.models, hardware: reply.hardware }));
      return 0;
    }
    out(`Paired with "${reply.name}" at ${reply.url} as endpoint ${endpoint} (certificate pinned).`);
    out(`Its models: ${reply.models.join(', ') || 'none yet'}`);
    if (reply.models[0]) out(`A bot uses one as its model: openai:${endpoint}/${reply.models[0]}`);
    out(
      `It is not trusted as local: local-only bots and sensitive requests never go there, unless you run agent-room peer trust ${name} --local.`,
    );
    return 0;
  } catch (err) {
    if (err instanceof PeerError || err instanceof PairingCodeError) {
      console.error(err.message);
      if (err instanceof PeerError && err.hint) console.error(err.hint);
      return 1;
    }
    throw err;
  }
}
