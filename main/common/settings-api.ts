// The OpenAI-compatible API's settings (/v1 on the control server's port): whether the desktop app serves it,
// who may reach it, and the limits each key gets. Keys themselves are not settings: `agent-room api-key create`
// keeps their hashes in <data>/state/api-keys.json.
import { z } from 'zod';

export const API_DEFAULTS = {
  enabled: false,
  lanAccess: false,
  requestsPerMinute: 120,
  maxConcurrent: 4,
  maxQueued: 16,
} as const;

export const apiSettingsSchema = z
  .object({
    /** The desktop app serves /v1 on control.port when on; serve always serves it on its control server. */
    enabled: z.boolean().default(API_DEFAULTS.enabled),
    /** Listen on every network interface instead of 127.0.0.1 (serve's whole control server then does). */
    lanAccess: z.boolean().default(API_DEFAULTS.lanAccess),
    /** Requests each key may start per minute; more get 429 with Retry-After. */
    requestsPerMinute: z.number().int().min(1).max(1_000_000).default(API_DEFAULTS.requestsPerMinute),
    /** Requests each key may have running at once; the next ones wait in its queue. */
    maxConcurrent: z.number().int().min(1).max(1024).default(API_DEFAULTS.maxConcurrent),
    /** Requests each key may have waiting; more get 429 with Retry-After. */
    maxQueued: z.number().int().min(0).max(100_000).default(API_DEFAULTS.maxQueued),
  })
  .default(API_DEFAULTS);

export type ApiSettings = z.infer<typeof apiSettingsSchema>;
