// LAN discovery (opt-in): with `peers.advertise` on, the peer listener announces itself as `_agent-room._tcp` over
// mDNS / DNS-SD (bonjour-service), with its name and certificate fingerprint in the TXT record; `agent-room peer
// discover` lists what answers within a moment. Discovery only finds addresses: pairing still needs the one-time
// code, whose fingerprint is what the other machine trusts, not the one in the announcement.
import { Bonjour } from 'bonjour-service';

export const MDNS_TYPE = 'agent-room';

/** What advertise and discover use of bonjour-service (tests pass a fake). */
export interface MdnsService {
  name: string;
  host?: string;
  port: number;
  addresses?: string[];
  txt?: Record<string, unknown>;
}
export interface Mdns {
  publish(opts: { name: string; type: string; port: number; txt?: Record<string, string> }): {
    on(event: 'error', listener: (err: Error) => void): unknown;
  };
  find(opts: { type: string }, onUp: (s: MdnsService) => void): { stop(): void };
  unpublishAll(callback?: () => void): void;
  destroy(callback?: () => void): void;
}

export const realMdns = (): Mdns => new Bonjour() as unknown as Mdns;

export interface Advertised {
  stop(): Promise<void>;
}

/** Announces the listener until stopped; a failure (a name taken on the network) goes to onError, never throws. */
export function advertise(
  info: { name: string; port: number; fingerprint: string },
  onError: (err: Error) => void,
  make: () => Mdns = realMdns,
): Advertised {
  const mdns = make();
  const fp = Buffer.from(info.fingerprint, 'hex').toString('base64url');
  mdns
    .publish({
      name: `agent-room-${info.name}`,
      type: MDNS_TYPE,
      port: info.port,
      txt: { v: '1', name: info.name, fp },
    })
    .on('error', onError);
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        mdns.unpublishAll(() => mdns.destroy(() => resolve()));
      }),
  };
}

export interface DiscoveredPeer {
  name: string;
  /** `https://<address>:<port>/v1`, an IPv4 address first when it has one. */
  url: string;
  addresses: string[];
  host: string;
  /** SHA-256 hex from its announcement (compare it with the code's; the code decides). */
  fingerprint?: string;
}

/** What answers as `_agent-room._tcp` within timeoutMs, each once. */
export async function discover(timeoutMs = 2000, make: () => Mdns = realMdns): Promise<DiscoveredPeer[]> {
  const mdns = make();
  const found = new Map<string, DiscoveredPeer>();
  const browser = mdns.find({ type: MDNS_TYPE }, (s) => {
    const addresses = s.addresses ?? [];
    const ip = addresses.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? addresses[0] ?? s.host ?? 'localhost';
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const name = typeof s.txt?.name === 'string' ? s.txt.name : s.name;
    const fp = typeof s.txt?.fp === 'string' ? Buffer.from(s.txt.fp, 'base64url') : undefined;
    found.set(`${s.name}:${s.port}`, {
      name,
      url: `https://${host}:${s.port}/v1`,
      addresses,
      host: s.host ?? '',
      ...(fp?.length === 32 ? { fingerprint: fp.toString('hex') } : {}),
    });
  });
  await new Promise((r) => setTimeout(r, timeoutMs));
  browser.stop();
  await new Promise<void>((r) => mdns.destroy(() => r()));
  return [...found.values()];
}
