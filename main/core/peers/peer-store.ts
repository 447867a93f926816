// The peers this machine uses: <data>/state/peers/peers.json (mode 0600), written by `agent-room peer add|remove|
// trust` and read again by a running serve whenever it changed (so pairing needs no restart). Each peer becomes an
// OpenAI-compatible endpoint `peer-<name>` whose requests pin the peer's certificate and whose key is the secret
// `peer.<name>.apiKey`. A peer is not this machine for the privacy check unless the person marked it trusted-local.
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAIEndpoint } from '../inference/openai/openai-backend.ts';
import { peersDir } from './peer-tls.ts';
import { pinnedFetch } from './pinned-fetch.ts';
import { readStateFile, writeStateFile } from './state-file.ts';

/** What a peer says of its hardware when pairing (and on each refresh). */
export interface PeerHardware {
  /** node-llama-cpp's backend there: cuda, metal, vulkan, cpu, ollama. */
  backend: string;
  gpu: { vendor: string; model: string; vramMiB: number | null } | null;
  memoryBudgetMiB: number;
  /** The model its own plan recommends: the largest that runs well there. */
  /** The model its plan recommends (`tier` from peers that still use the tier table). */
  recommended: { tier?: string; label: string; sizeMiB: number };
}

export interface PeerRecord {
  name: string;
  /** Base URL up to and including /v1. */
  url: string;
  /** SHA-256 of its certificate, 64 hex digits. */
  fingerprint: string;
  /** Marked by the person (`peer trust <name> --local`): local-only bots and sensitive requests may use it. */
  trustedLocal: boolean;
  /** Its model ids when last asked (bot ids first, then model references). */
  models: string[];
  hardware?: PeerHardware;
  addedAt: string;
  /** The last refresh (peer list, probe) and its outcome. */
  checkedAt?: string;
  reachable?: boolean;
  error?: string;
}

interface PeersFile {
  version: 1;
  peers: PeerRecord[];
}

export const PEER_ENDPOINT_PREFIX = 'peer-';
/** A peer's requests: no retry before the next model (it is down, or it said why), and a first token within 2 min. */
const PEER_RETRY = { maxRetries: 0, baseDelayMs: 250, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
const PEER_FIRST_TOKEN_MS = 120_000;

export const peerEndpointId = (name: string): string => `${PEER_ENDPOINT_PREFIX}${name}`;
export const peerKeySecret = (name: string): string => `peer.${name}.apiKey`;

function isPeersFile(v: unknown): v is PeersFile {
  return typeof v === 'object' && v !== null && Array.isArray((v as PeersFile).peers);
}

/** A peer as the OpenAI backend sees it. */
export function peerEndpoint(p: PeerRecord): OpenAIEndpoint {
  return {
    id: peerEndpointId(p.name),
    url: p.url,
    apiKeyRef: peerKeySecret(p.name),
    requestsPerMinute: 600,
    timeoutMs: PEER_FIRST_TOKEN_MS,
    failover: [],
    fingerprint: p.fingerprint,
    local: p.trustedLocal,
    retry: PEER_RETRY,
  };
}

export class PeerStore {
  readonly file: string;
  #cache: { stamp: string; peers: PeerRecord[] } | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.file = join(peersDir(stateDir), 'peers.json');
  }

  async list(): Promise<PeerRecord[]> {
    return (await readStateFile<PeersFile>(this.file, { version: 1, peers: [] }, isPeersFile)).peers;
  }

  async get(name: string): Promise<PeerRecord | undefined> {
    return (await this.list()).find((p) => p.name === name);
  }

  /** Adds a peer or replaces the one of that name (pairing again). */
  put(peer: PeerRecord): Promise<void> {
    return this.#change((peers) => [...peers.filter((p) => p.name !== peer.name), peer]);
  }

  /** Changes one peer; false when there is none of that name. */
  async update(name: string, edit: (p: PeerRecord) => PeerRecord): Promise<boolean> {
    let found = false;
    await this.#change((peers) =>
      peers.map((p) => {
        if (p.name !== name) return p;
        found = true;
        return edit(p);
      }),
    );
    return found;
  }

  async remove(name: string): Promise<boolean> {
    let found = false;
    await this.#change((peers) =>
      peers.filter((p) => {
        if (p.name === name) found = true;
        return p.name !== name;
      }),
    );
    return found;
  }

  /**
   * The peers as endpoints, read synchronously (the backend asks on every request): the file is read again only
   * when its size, time or inode changed. A damaged file counts as no peers (`peer list` says what is wrong).
   */
  endpoints(): OpenAIEndpoint[] {
    let stamp: string;
    try {
      const s = statSync(this.file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      stamp = 'none';
    }
    if (this.#cache?.stamp !== stamp) {
      let peers: PeerRecord[] = [];
      try {
        const v = stamp === 'none' ? undefined : (JSON.parse(readFileSync(this.file, 'utf8')) as unknown);
        if (isPeersFile(v)) peers = v.peers;
      } catch {
        peers = [];
      }
      this.#cache = { stamp, peers };
    }
    return this.#cache.peers.map(peerEndpoint);
  }

  #change(edit: (peers: PeerRecord[]) => PeerRecord[]): Promise<void> {
    const run = this.#queue.then(async () => {
      const peers = edit(await this.list());
      await writeStateFile(this.file, { version: 1, peers });
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** What inference needs of the peers: their endpoints, and one pinned fetch per certificate (kept, made once). */
export function peerInference(
  store: PeerStore,
  connectTimeoutMs: () => number,
): { endpoints: () => OpenAIEndpoint[]; fetchFor: (ep: OpenAIEndpoint) => typeof fetch | undefined } {
  const fetches = new Map<string, typeof fetch>();
  return {
    endpoints: () => store.endpoints(),
    fetchFor: (ep) => {
      if (!ep.fingerprint) return undefined;
      const key = `${ep.fingerprint}:${connectTimeoutMs()}`;
      let f = fetches.get(key);
      if (!f) {
        f = pinnedFetch({ fingerprint: ep.fingerprint, connectTimeoutMs: connectTimeoutMs() });
        fetches.set(key, f);
      }
      return f;
    },
  };
}
