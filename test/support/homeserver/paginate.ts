// Token pagination over a room's events, shared by /messages, /relations and /threads.
import { invalidParam } from './errors.ts';
import { parseStreamToken, streamToken } from './context.ts';
import type { StoredEvent } from './store.ts';

export interface Page {
  chunk: StoredEvent[];
  start: string;
  next?: string;
}

/**
 * `candidates` ascend by stream. Token n sits just after event n: dir 'b' from n returns events with
 * stream <= n, newest first; dir 'f' from n returns stream > n, oldest first. `to` bounds the walk.
 */
export function paginate(
  candidates: StoredEvent[],
  dir: string,
  fromRaw: string | null,
  toRaw: string | null,
  limit: number,
  liveEnd: number,
): Page {
  if (dir !== 'b' && dir !== 'f') throw invalidParam("dir must be 'b' or 'f'");
  const from = parseStreamToken(fromRaw);
  const to = parseStreamToken(toRaw);
  if (Number.isNaN(from) || Number.isNaN(to)) throw invalidParam('Invalid pagination token');
  if (dir === 'b') {
    const start = from ?? liveEnd;
    const pool = candidates.filter((s) => s.stream <= start && (to === undefined || s.stream > to)).reverse();
    const chunk = pool.slice(0, limit);
    const last = chunk.at(-1);
    return {
      chunk,
      start: streamToken(start),
      next: pool.length > chunk.length && last ? streamToken(last.stream - 1) : undefined,
    };
  }
  const start = from ?? 0;
  const pool = candidates.filter((s) => s.stream > start && (to === undefined || s.stream <= to));
  const chunk = pool.slice(0, limit);
  const last = chunk.at(-1);
  return {
    chunk,
    start: streamToken(start),
    next: pool.length > chunk.length && last ? streamToken(last.stream) : undefined,
  };
}

export function limitParam(raw: string | null, fallback: number, max = 1000): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw invalidParam('limit must be a non-negative integer');
  return Math.min(n, max);
}
