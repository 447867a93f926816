// `agent-room peer list|remove|trust|discover`: the peers this machine uses (asked again when listed), forgetting one,
// trusting one as local, and the Agent Rooms that announce themselves on the LAN. Like api-key, these work while
// serve runs: it reads the peers' file again when it changes.
import type { DataPaths } from '../core/paths.ts';
import { refreshPeers } from '../core/peers/peer-client.ts';
import { discover } from '../core/peers/peer-mdns.ts';
import { peerEndpointId, peerKeySecret, PeerStore, type PeerRecord } from '../core/peers/peer-store.ts';
import { displayFingerprint } from '../core/peers/peer-tls.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';
import { machineName } from '../core/peers/peer-address.ts';
import { readSettings } from './peer-pair-command.ts';

/** Every peer, asked again for its models and hardware (2 s each, all at once). */
export async function listedPeers(paths: DataPaths, refresh = true): Promise<PeerRecord[]> {
  const store = new PeerStore(paths.state);
  if (!refresh) return store.list();
  const secrets = new FileSecretStore({ file: paths.secrets });
  return refreshPeers(store, (name) => secrets.get(peerKeySecret(name)), {
    connectTimeoutMs: Math.min(readSettings(paths).peers.connectTimeoutMs, 2000),
    timeoutMs: 2000,
  });
}

function peerLines(p: PeerRecord): string[] {
  const h = p.hardware;
  const gpu = h?.gpu
    ? `${h.gpu.model}${h.gpu.vramMiB === null ? '' : `, ${h.gpu.vramMiB} MiB VRAM`}`
    : h
      ? `no GPU (${h.backend})`
      : 'unknown';
  const state = p.reachable === false ? `NOT REACHABLE: ${p.error ?? ''}` : 'reachable';
  return [
    `${p.name}  (endpoint ${peerEndpointId(p.name)}${p.trustedLocal ? ', trusted-local' : ''})`,
    `  URL:          ${p.url}   ${state}${p.checkedAt ? ` (checked ${p.checkedAt})` : ''}`,
    `  Certificate:  SHA-256 ${displayFingerprint(p.fingerprint)}`,
    `  GPU:          ${gpu}${h ? `; ${h.memoryBudgetMiB} MiB for models; recommends ${h.recommended.label}` : ''}`,
    `  Models:       ${p.models.map((m) => `openai:${peerEndpointId(p.name)}/${m}`).join(', ') || 'none'}`,
  ];
}

export async function runPeerList(paths: DataPaths, flags: { json?: boolean }, out = console.log): Promise<number> {
  const peers = await listedPeers(paths);
  if (flags.json) out(JSON.stringify(peers, null, 2));
  else if (peers.length === 0) out('No peers yet: run agent-room peer pair on the other machine, then peer add here.');
  else out(peers.flatMap(peerLines).join('\n'));
  return 0;
}

export async function runPeerRemove(paths: DataPaths, name: string, out = console.log): Promise<number> {
  const removed = await new PeerStore(paths.state).remove(name);
  if (!removed) {
    const names = (await new PeerStore(paths.state).list()).map((p) => p.name);
    console.error(`No peer is called "${name}" (peers: ${names.join(', ') || 'none'}).`);
    return 1;
  }
  await new FileSecretStore({ file: paths.secrets }).delete(peerKeySecret(name));
  out(`Removed peer "${name}": its endpoint ${peerEndpointId(name)} is gone and its key forgotten here.`);
  out(
    `Its key stays valid over there until revoked: agent-room api-key revoke peer:${machineName(readSettings(paths))} on that machine.`,
  );
  return 0;
}

export async function runPeerTrust(paths: DataPaths, name: string, local: boolean, out = console.log): Promise<number> {
  const found = await new PeerStore(paths.state).update(name, (p) => ({ ...p, trustedLocal: local }));
  if (!found) {
    console.error(`No peer is called "${name}".`);
    return 1;
  }
  out(
    local
      ? `"${name}" is trusted as local: local-only bots and sensitive requests may use it, as they use this machine.`
      : `"${name}" is no longer trusted as local: local-only bots and sensitive requests stay off it.`,
  );
  return 0;
}

export async function runPeerDiscover(flags: { json?: boolean; timeout?: number }, out = console.log): Promise<number> {
  const found = await discover(flags.timeout ?? 2000);
  if (flags.json) out(JSON.stringify(found, null, 2));
  else if (found.length === 0)
    out('No Agent Room announced itself on the LAN (peers.advertise turns it on, on the other machine).');
  else
    for (const d of found)
      out(
        `${d.name}  ${d.url}${d.fingerprint ? `  SHA-256 ${displayFingerprint(d.fingerprint)}` : ''}  (pair: agent-room peer add ${d.url} <code>)`,
      );
  return 0;
}
