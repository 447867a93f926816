// GET /sync with since tokens, long-polling, filters and full_state; and the filter upload/download API.
import { MatrixError, asObject, forbidden, notFound } from './errors.ts';
import { parseStreamToken, streamToken, type Hs } from './context.ts';
import type { Caller, Ctx, Route } from './router.ts';
import { eventMatches, formatEvent, strippedState, stateAt, toEventFilter, type EventFilter } from './serialize.ts';
import type { Room, StoredEvent } from './store.ts';
import { parseFilterParam } from './routes-events.ts';

/** A later module (encryption: to-device, device lists, one-time key counts) adds its part of /sync here. */
export type SyncContributor = (
  caller: Caller,
  since: number | undefined,
) => { data: Record<string, unknown>; hasData: boolean };

interface SyncFilter {
  room: {
    rooms?: string[];
    not_rooms?: string[];
    includeLeave: boolean;
    lazyLoadMembers: boolean;
    timeline?: EventFilter;
    state?: EventFilter;
    ephemeral?: EventFilter;
    accountData?: EventFilter;
  };
  accountData?: EventFilter;
}

function toSyncFilter(raw: Record<string, unknown> | undefined): SyncFilter {
  const room = (raw?.room ?? {}) as Record<string, unknown>;
  const strs = (x: unknown): string[] | undefined =>
    Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : undefined;
  return {
    room: {
      rooms: strs(room.rooms),
      not_rooms: strs(room.not_rooms),
      includeLeave: room.include_leave === true,
      lazyLoadMembers: (room.state as { lazy_load_members?: unknown } | undefined)?.lazy_load_members === true,
      timeline: toEventFilter(room.timeline),
      state: toEventFilter(room.state),
      ephemeral: toEventFilter(room.ephemeral),
      accountData: toEventFilter(room.account_data),
    },
    accountData: toEventFilter(raw?.account_data),
  };
}

const typeOk = (f: EventFilter | undefined, type: string): boolean =>
  eventMatches(f && { ...f, senders: undefined, not_senders: undefined, rooms: undefined, not_rooms: undefined }, {
    type,
  } as never);

/** An approximation of the default push rules' counts: messages from others after the user's latest receipt. */
function unread(room: Room, userId: string): { notification_count: number; highlight_count: number } {
  let readStream = 0;
  for (const r of room.receipts.values()) {
    if (r.userId !== userId || r.type === 'm.fully_read') continue;
    readStream = Math.max(readStream, room.timeline.find((s) => s.event.event_id === r.eventId)?.stream ?? 0);
  }
  let n = 0;
  let h = 0;
  for (const s of room.timeline) {
    if (s.stream <= readStream || s.event.sender === userId) continue;
    if (s.event.type !== 'm.room.message' && s.event.type !== 'm.room.encrypted') continue;
    const c = s.event.content;
    if (c.msgtype === 'm.notice') continue;
    // Spec push rules: .m.rule.is_user_mention (notify, highlight) comes before .m.rule.suppress_edits, so an
    // edit notifies only when its top-level m.mentions names the user; other edits are silent.
    const mentioned =
      ((c['m.mentions'] as { user_ids?: unknown } | undefined)?.user_ids as unknown[] | undefined)?.includes(userId) ===
      true;
    if ((c['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace' && !mentioned) continue;
    n += 1;
    if (mentioned) h += 1;
  }
  return { notification_count: n, highlight_count: h };
}

function accountDataSince(
  hs: Hs,
  userId: string,
  roomId: string,
  since: number | undefined,
  f: EventFilter | undefined,
): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [type, e] of hs.store.accountData.get(`${userId}\u0000${roomId}`) ?? []) {
    if ((since === undefined || e.stream > since) && typeOk(f, type)) out.push({ type, content: e.content });
  }
  return out;
}

function timelineSection(
  candidates: StoredEvent[],
  f: EventFilter | undefined,
  since: number | undefined,
): { events: StoredEvent[]; limited: boolean; prevBatch: string } {
  const matching = candidates.filter((s) => eventMatches(f, s.event));
  const limit = f?.limit ?? 10;
  const events = matching.slice(Math.max(0, matching.length - limit));
  const first = events[0];
  return {
    events,
    limited: matching.length > events.length,
    prevBatch: streamToken(first ? first.stream - 1 : (since ?? 0)),
  };
}

export function buildSync(
  hs: Hs,
  caller: Caller,
  since: number | undefined,
  fullState: boolean,
  filter: SyncFilter,
  contributors: SyncContributor[],
): { body: Record<string, unknown>; hasData: boolean } {
  const userId = caller.userId;
  const join: Record<string, unknown> = {};
  const invite: Record<string, unknown> = {};
  const leave: Record<string, unknown> = {};
  const fmt = (s: StoredEvent, bundle = true): Record<string, unknown> =>
    formatEvent(hs, s, caller, { withRoomId: false, bundle });
  for (const room of hs.store.rooms.values()) {
    const rf = filter.room;
    if ((rf.rooms && !rf.rooms.includes(room.roomId)) || rf.not_rooms?.includes(room.roomId)) continue;
    if (hs.store.forgotten.has(`${userId}\u0000${room.roomId}`)) continue;
    const m = hs.store.membership(room.roomId, userId);
    if (!m) continue;
    const changedSince = since === undefined || m.stored.stream > since;
    if (m.membership === 'join') {
      const initial = since === undefined || m.stored.stream > since;
      const candidates = initial ? room.timeline : room.timeline.filter((s) => s.stream > (since as number));
      const tl = timelineSection(candidates, rf.timeline, since);
      const startIdx = tl.events[0] ? room.timeline.indexOf(tl.events[0]) : undefined;
      let state: StoredEvent[] = [];
      if (initial || fullState) state = stateAt(room, startIdx);
      else if (tl.limited) state = stateAt(room, startIdx).filter((s) => s.stream > (since as number));
      state = state.filter((s) => eventMatches(rf.state, s.event));
      if (rf.lazyLoadMembers) {
        // Lazy loading (spec): member events only of the timeline's senders, and the user's own (as Synapse sends).
        const wanted = new Set([userId, ...tl.events.map((s) => s.event.sender)]);
        state = state.filter((s) => s.event.type !== 'm.room.member' || wanted.has(s.event.state_key as string));
      }
      const ephemeral: Array<Record<string, unknown>> = [];
      const now = Date.now();
      const typingIds = [...room.typing].filter(([, exp]) => exp > now).map(([u]) => u);
      if ((since === undefined ? typingIds.length > 0 : room.typingStream > since) && typeOk(rf.ephemeral, 'm.typing'))
        ephemeral.push({ type: 'm.typing', content: { user_ids: typingIds } });
      const receipts: Record<string, Record<string, Record<string, unknown>>> = {};
      for (const r of room.receipts.values()) {
        if (since !== undefined && !initial && r.stream <= since) continue;
        if (r.type === 'm.read.private' && r.userId !== userId) continue;
        const byType = (receipts[r.eventId] ??= {});
        const byUser = (byType[r.type] ??= {}) as Record<string, unknown>;
        byUser[r.userId] = r.threadId === undefined ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
      }
      if (Object.keys(receipts).length > 0 && typeOk(rf.ephemeral, 'm.receipt'))
        ephemeral.push({ type: 'm.receipt', content: receipts });
      const ad = accountDataSince(hs, userId, room.roomId, initial ? undefined : since, rf.accountData);
      if (
        !initial &&
        !fullState &&
        tl.events.length === 0 &&
        state.length === 0 &&
        ephemeral.length === 0 &&
        ad.length === 0
      )
        continue;
      const members = [...room.state.values()].filter((s) => s.event.type === 'm.room.member');
      const joined = members.filter((s) => s.event.content.membership === 'join');
      join[room.roomId] = {
        timeline: { events: tl.events.map((s) => fmt(s)), limited: tl.limited, prev_batch: tl.prevBatch },
        state: { events: state.map((s) => fmt(s, false)) },
        ephemeral: { events: ephemeral },
        account_data: { events: ad },
        unread_notifications: unread(room, userId),
        summary: {
          'm.joined_member_count': joined.length,
          'm.invited_member_count': members.filter((s) => s.event.content.membership === 'invite').length,
          'm.heroes': joined
            .map((s) => s.event.state_key as string)
            .filter((u) => u !== userId)
            .slice(0, 5),
        },
      };
    } else if (m.membership === 'invite') {
      if (!changedSince) continue;
      const inviteEvent = {
        type: 'm.room.member',
        state_key: userId,
        content: m.stored.event.content,
        sender: m.stored.event.sender,
      };
      invite[room.roomId] = { invite_state: { events: [...strippedState(room), inviteEvent] } };
    } else if (m.membership === 'leave' || m.membership === 'ban') {
      if (since === undefined ? !rf.includeLeave : !changedSince) continue;
      const candidates = room.timeline.filter(
        (s) => s.stream <= m.stored.stream && (since === undefined || s.stream > since),
      );
      const tl = timelineSection(candidates, rf.timeline, since);
      leave[room.roomId] = {
        timeline: { events: tl.events.map((s) => fmt(s)), limited: tl.limited, prev_batch: tl.prevBatch },
        state: { events: [] },
        account_data: { events: accountDataSince(hs, userId, room.roomId, since, rf.accountData) },
      };
    }
  }
  const globalAd = accountDataSince(hs, userId, '', since, filter.accountData);
  const body: Record<string, unknown> = {
    next_batch: streamToken(hs.store.stream),
    rooms: { join, invite, leave, knock: {} },
    account_data: { events: globalAd },
    presence: { events: [] },
    // Encryption (a later issue) fills these through SyncContributor; the structure is already the spec's.
    to_device: { events: [] },
    device_lists: { changed: [], left: [] },
  };
  let hasData = Object.keys(join).length + Object.keys(invite).length + Object.keys(leave).length + globalAd.length > 0;
  for (const c of contributors) {
    const part = c(caller, since);
    Object.assign(body, part.data);
    hasData ||= part.hasData;
  }
  return { body, hasData };
}

export function syncRoutes(hs: Hs, contributors: SyncContributor[]): Route[] {
  let nextFilterId = 0;
  for (const key of hs.store.filters.keys())
    nextFilterId = Math.max(nextFilterId, Number(key.split('\u0000')[1]) + 1 || 0);

  const sync = async (ctx: Ctx): Promise<{ body: unknown }> => {
    const since = parseStreamToken(ctx.query.get('since'));
    if (Number.isNaN(since)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid since token');
    const rawFilter = ctx.query.get('filter');
    let filterObj: Record<string, unknown> | undefined;
    if (rawFilter !== null && rawFilter.trim().startsWith('{')) filterObj = parseFilterParam(rawFilter);
    else if (rawFilter !== null) {
      filterObj = hs.store.filters.get(`${ctx.caller.userId}\u0000${rawFilter}`);
      if (!filterObj) throw new MatrixError(400, 'M_INVALID_PARAM', `No filter with id ${rawFilter}`);
    }
    const filter = toSyncFilter(filterObj);
    const fullState = ctx.query.get('full_state') === 'true';
    const timeout = Math.min(Math.max(Number(ctx.query.get('timeout') ?? 0) || 0, 0), 300_000);
    const deadline = Date.now() + timeout;
    let result = buildSync(hs, ctx.caller, since, fullState, filter, contributors);
    // Long-poll: an incremental sync with nothing new waits for a change, the timeout or the connection's end.
    while (since !== undefined && !fullState && !result.hasData && Date.now() < deadline && !ctx.signal.aborted) {
      const timer = new AbortController();
      const t = setTimeout(() => timer.abort(), deadline - Date.now());
      await hs.store.waitForChange(AbortSignal.any([timer.signal, ctx.signal]));
      clearTimeout(t);
      result = buildSync(hs, ctx.caller, since, fullState, filter, contributors);
    }
    return { body: result.body };
  };

  return [
    { method: 'GET', pattern: 'client:/sync', auth: 'required', handler: sync },
    {
      method: 'POST',
      pattern: 'client:/user/:userId/filter',
      auth: 'required',
      handler: (ctx) => {
        if (ctx.params.userId !== ctx.caller.userId) throw forbidden('Can only create filters for yourself');
        const filter = asObject(ctx.body);
        const filterId = String(nextFilterId++);
        hs.store.commit({ k: 'filter', userId: ctx.caller.userId, filterId, filter });
        return { body: { filter_id: filterId } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/user/:userId/filter/:filterId',
      auth: 'required',
      handler: (ctx) => {
        if (ctx.params.userId !== ctx.caller.userId) throw forbidden('Can only get your own filters');
        const f = hs.store.filters.get(`${ctx.caller.userId}\u0000${ctx.params.filterId}`);
        if (!f) throw notFound('No such filter');
        return { body: f };
      },
    },
  ];
}
