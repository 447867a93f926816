// Settings for pairing machines as peers: the TLS listener other Agent Rooms (or any OpenAI client that pins its
// certificate) reach this machine's /v1 through, the name it pairs under, and LAN discovery. The peers this machine
// uses are not settings: `agent-room peer add` keeps them in <data>/state/peers/peers.json, so pairing works while
// serve runs (it reads that file again when it changes).
import { z } from 'zod';

export const PEERS_DEFAULTS = {
  enabled: true,
  port: 0,
  lanAccess: false,
  advertise: false,
  connectTimeoutMs: 3000,
} as const;

export const peerSettingsSchema = z
  .object({
    /** serve listens for peers (TLS) while on; the desktop app only when `api.enabled` is on too. */
    enabled: z.boolean().default(PEERS_DEFAULTS.enabled),
    /** The name other machines pair with (their endpoint becomes `peer-<name>`); unset: this machine's host name. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,40}$/, 'use lower-case letters, digits and . _ - (at most 41)')
      .optional(),
    /** The TLS listener's port; 0 = pick a free one at the first start and keep it. */
    port: z.number().int().min(0).max(65535).default(PEERS_DEFAULTS.port),
    /** Listen on every interface instead of 127.0.0.1 (needed for peers on other machines). */
    lanAccess: z.boolean().default(PEERS_DEFAULTS.lanAccess),
    /** Announce this machine on the LAN as `_agent-room._tcp` (mDNS / DNS-SD) while the listener runs. */
    advertise: z.boolean().default(PEERS_DEFAULTS.advertise),
    /** How long a request to a peer waits for its TLS connection before the next model is tried. */
    connectTimeoutMs: z.number().int().min(100).max(60_000).default(PEERS_DEFAULTS.connectTimeoutMs),
  })
  .default(PEERS_DEFAULTS);

export type PeerSettings = z.infer<typeof peerSettingsSchema>;
