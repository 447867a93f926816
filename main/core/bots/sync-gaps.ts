// Gap-free sync. A homeserver answers a /sync with at most a few timeline events per room (10 on Synapse by
// default); when more arrived since the last one, the room's timeline is `limited` and carries a `prev_batch`
// token, and the events in between are reachable only through /messages. matrix-js-sdk does not fill that gap
// (it resets its timeline and moves on), so a burst of mentions, or mentions sent while the app was stopped,
// would be lost without a word. Here each /sync answer is read before the SDK processes it (a fetch wrapper),
// and every gap is paged back from prev_batch to the since token of that sync.
import type { RawEvent } from './types.ts';

/** One room's gap in one /sync answer. */
export interface SyncGap {
  roomId: string;
  /** The since token of the sync that had the gap; undefined for a first sync (no token yet). */
  since: string | undefined;
  /** Where /messages pages back from. */
  prevBatch: string;
  /** The oldest event the sync itself carried, when it carried any. */
  firstEventId?: string;
  firstTs?: number;
}

/** The gaps in a /sync answer (pure): joined rooms whose timeline is limited and says where to page from. */
export function syncGaps(body: unknown, since: string | undefined): SyncGap[] {
  const join = (body as { rooms?: { join?: unknown } } | null)?.rooms?.join;
  if (!join || typeof join !== 'object') return [];
  const gaps: SyncGap[] = [];
  for (const [roomId, room] of Object.entries(join as Record<string, unknown>)) {
    const tl = (room as { timeline?: { limited?: unknown; prev_batch?: unknown; events?: unknown } } | null)?.timeline;
    if (!tl || tl.limited !== true || typeof tl.prev_batch !== 'string') continue;
    const first = Array.isArray(tl.events)
      ? (tl.events[0] as { event_id?: unknown; origin_server_ts?: unknown } | undefined)
      : undefined;
    const gap: SyncGap = { roomId, since, prevBatch: tl.prev_batch };
    if (typeof first?.event_id === 'string') gap.firstEventId = first.event_id;
    if (typeof first?.origin_server_ts === 'number') gap.firstTs = first.origin_server_ts;
    gaps.push(gap);
  }
  return gaps;
}

function syncSince(
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
): { isSync: boolean; since: string | undefined } {
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const url = new URL(input instanceof Request ? input.url : String(input));
  const isSync = method === 'GET' && /\/_matrix\/client\/(?:v3|r0)\/sync$/.test(url.pathname);
  return { isSync, since: url.searchParams.get('since') ?? undefined };
}

/**
 * A fetch that reports the gaps of every successful /sync answer before handing the answer on: the report comes
 * first, so what is recovered can be delivered before the events of the answer itself.
 */
export function observeSyncGaps(fetchFn: typeof fetch, onGaps: (gaps: SyncGap[]) => void): typeof fetch {
  return async (input, init) => {
    const res = await fetchFn(input, init);
    const { isSync, since } = syncSince(input, init);
    if (!isSync || res.status !== 200) return res;
    // A body the SDK cannot read either is the SDK's to report; here it only means no gaps are known.
    const body: unknown = await res
      .clone()
      .json()
      .catch(() => undefined);
    const gaps = syncGaps(body, since);
    if (gaps.length > 0) onGaps(gaps);
    return res;
  };
}

/** One page of GET /rooms/{roomId}/messages (dir=b): newest first, `end` where the next page starts. */
export interface MessagesPage {
  chunk: RawEvent[];
  end?: string;
}

export type FetchMessages = (
  roomId: string,
  from: string,
  to: string | undefined,
  limit: number,
) => Promise<MessagesPage>;

export interface GapFillOptions {
  /** An event this bot already had: the gap ends there. */
  isKnown(eventId: string): boolean;
  /** A first sync has no since token: page back no further than events older than this (ms since epoch). */
  notBeforeTs?: number;
  /** At most this many events are recovered; past it the fill is reported as incomplete. */
  maxEvents?: number;
  pageSize?: number;
}

export interface GapFill {
  /** The recovered events, oldest first, ready to route before the sync's own. */
  events: RawEvent[];
  /** False when the cap stopped the walk: older events of the gap were not read. */
  complete: boolean;
}

/**
 * Pages a gap back from prev_batch until the since token (`to`), an event already seen, the start of the room, or
 * (first sync) the history cut-off. Events the sync itself carried are left out; the first event older than the
 * cut-off is kept, so the runner sees that older history was passed over.
 */
export async function fillGap(gap: SyncGap, fetchMessages: FetchMessages, opts: GapFillOptions): Promise<GapFill> {
  const maxEvents = opts.maxEvents ?? 5000;
  const newestFirst: RawEvent[] = [];
  const seen = new Set<string>();
  let from: string | undefined = gap.prevBatch;
  while (from !== undefined) {
    const page = await fetchMessages(gap.roomId, from, gap.since, opts.pageSize ?? 100);
    for (const ev of page.chunk) {
      if (typeof ev?.event_id !== 'string' || seen.has(ev.event_id)) continue;
      if (ev.event_id === gap.firstEventId) continue;
      if (opts.isKnown(ev.event_id)) return { events: newestFirst.reverse(), complete: true };
      if (newestFirst.length >= maxEvents) return { events: newestFirst.reverse(), complete: false };
      seen.add(ev.event_id);
      newestFirst.push(ev);
      if (opts.notBeforeTs !== undefined && ev.origin_server_ts < opts.notBeforeTs)
        return { events: newestFirst.reverse(), complete: true };
    }
    // An empty page or one without `end` is the start of the room (or the since token, reached).
    if (page.chunk.length === 0 || !page.end || page.end === from) break;
    from = page.end;
  }
  return { events: newestFirst.reverse(), complete: true };
}
