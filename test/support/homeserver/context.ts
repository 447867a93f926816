// What every route module shares: the store, the configuration and small helpers for ids.
import { randomBytes } from 'node:crypto';
import type { Store } from './store.ts';

export interface HsConfig {
  serverName: string;
  /** When set, registration needs m.login.registration_token with this token; when not, m.login.dummy. */
  registrationToken?: string;
  allowRegistration: boolean;
  maxRequestSize: number;
  defaultRoomVersion: string;
}

export interface Hs {
  store: Store;
  config: HsConfig;
  /** Where uploaded media bytes live; in memory when there is no data directory. */
  mediaDir?: string;
  mediaBytes: Map<string, Buffer>;
  /** Typing expiry timers: cleared on close so nothing keeps the process alive. */
  timers: Set<NodeJS.Timeout>;
  log: (msg: string, obj?: Record<string, unknown>) => void;
}

export const randomId = (bytes = 18): string => randomBytes(bytes).toString('base64url');
export const newEventId = (): string => `$${randomId(32)}`;
export const newRoomId = (hs: Hs): string => `!${randomId(12)}:${hs.config.serverName}`;
export const newToken = (): string => `syt_${randomId(30)}`;
export const newDeviceId = (): string => randomBytes(5).toString('hex').toUpperCase();
export const localpart = (userId: string): string => userId.slice(1).split(':')[0] ?? '';

/** Stream tokens are one global position: "s<n>" means "after every change numbered n or below". */
export const streamToken = (n: number): string => `s${n}`;
export function parseStreamToken(token: string | null | undefined): number | undefined {
  if (token === null || token === undefined) return undefined;
  const m = /^[st](\d+)$/.exec(token);
  return m ? Number(m[1]) : Number.NaN;
}
