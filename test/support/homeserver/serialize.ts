// Events as a given client sees them: visibility by membership, unsigned data, bundled aggregations, filters.
import { forbidden } from './errors.ts';
import type { Caller } from './router.ts';
import type { Hs } from './context.ts';
import type { ClientEvent, Room, StoredEvent } from './store.ts';

/**
 * The highest stream position a user may read in a room: everything while joined ("shared" history),
 * up to their leave/ban event after leaving. Undefined: they may not read the room at all.
 */
export function visibleUpTo(hs: Hs, roomId: string, userId: string): number | undefined {
  const m = hs.store.membership(roomId, userId);
  if (!m) return undefined;
  if (m.membership === 'join') return Number.POSITIVE_INFINITY;
  if (m.membership === 'leave' || m.membership === 'ban') return m.stored.stream;
  return undefined;
}

export function requireVisible(hs: Hs, roomId: string, userId: string): number {
  const upTo = visibleUpTo(hs, roomId, userId);
  if (upTo === undefined) throw forbidden(`User ${userId} not in room ${roomId}`);
  return upTo;
}

function relType(e: ClientEvent): string | undefined {
  const rel = e.content['m.relates_to'] as { rel_type?: unknown } | undefined;
  return typeof rel?.rel_type === 'string' ? rel.rel_type : undefined;
}

/** Bundled aggregations (spec: "Aggregations of child events"): the latest edit and the thread summary. */
function bundled(hs: Hs, stored: StoredEvent, caller: Caller, upTo: number): Record<string, unknown> | undefined {
  const children = (hs.store.relations.get(stored.event.event_id) ?? []).filter(
    (c) => c.stream <= upTo && relType(c.event) !== undefined,
  );
  if (children.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  const edits = children.filter(
    (c) =>
      relType(c.event) === 'm.replace' && c.event.sender === stored.event.sender && c.event.type === stored.event.type,
  );
  const latest = edits.at(-1);
  if (latest) out['m.replace'] = formatEvent(hs, latest, caller, { upTo, bundle: false });
  const thread = children.filter((c) => relType(c.event) === 'm.thread');
  const last = thread.at(-1);
  if (last) {
    out['m.thread'] = {
      latest_event: formatEvent(hs, last, caller, { upTo, bundle: true }),
      count: thread.length,
      current_user_participated:
        thread.some((c) => c.event.sender === caller.userId) || stored.event.sender === caller.userId,
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function formatEvent(
  hs: Hs,
  stored: StoredEvent,
  caller: Caller,
  opts: { withRoomId?: boolean; upTo?: number; bundle?: boolean } = {},
): Record<string, unknown> {
  const { room_id, unsigned, ...rest } = stored.event;
  const u: Record<string, unknown> = { ...unsigned, age: Math.max(0, Date.now() - stored.event.origin_server_ts) };
  if (stored.txn && stored.txn.userId === caller.userId && stored.txn.deviceId === caller.deviceId)
    u.transaction_id = stored.txn.txnId;
  if (opts.bundle !== false && !u.redacted_because) {
    const relations = bundled(hs, stored, caller, opts.upTo ?? Number.POSITIVE_INFINITY);
    if (relations) u['m.relations'] = relations;
  }
  const out: Record<string, unknown> = { ...rest, unsigned: u };
  if (opts.withRoomId !== false) out.room_id = room_id;
  return out;
}

/** Stripped state for invites (spec: "Stripped state"). */
export function strippedState(room: Room): Array<Record<string, unknown>> {
  const keep = [
    'm.room.create',
    'm.room.join_rules',
    'm.room.name',
    'm.room.avatar',
    'm.room.canonical_alias',
    'm.room.encryption',
    'm.room.topic',
  ];
  const out: Array<Record<string, unknown>> = [];
  for (const s of room.state.values()) {
    if (!keep.includes(s.event.type)) continue;
    out.push({ type: s.event.type, state_key: s.event.state_key, content: s.event.content, sender: s.event.sender });
  }
  return out;
}

export interface EventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
  rooms?: string[];
  not_rooms?: string[];
  contains_url?: boolean;
}

/** Type patterns may end in '*' (spec: "Filtering"). */
function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

export function eventMatches(f: EventFilter | undefined, e: ClientEvent): boolean {
  if (!f) return true;
  if (f.not_types?.some((p) => typeMatches(p, e.type))) return false;
  if (f.types && !f.types.some((p) => typeMatches(p, e.type))) return false;
  if (f.not_senders?.includes(e.sender)) return false;
  if (f.senders && !f.senders.includes(e.sender)) return false;
  if (f.not_rooms?.includes(e.room_id)) return false;
  if (f.rooms && !f.rooms.includes(e.room_id)) return false;
  if (f.contains_url !== undefined && (typeof e.content.url === 'string') !== f.contains_url) return false;
  return true;
}

/** Parses a filter object defensively: a wrong shape is ignored field by field rather than crashing. */
export function toEventFilter(v: unknown): EventFilter | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const strs = (x: unknown): string[] | undefined =>
    Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : undefined;
  return {
    limit: typeof o.limit === 'number' && o.limit > 0 ? Math.floor(o.limit) : undefined,
    types: strs(o.types),
    not_types: strs(o.not_types),
    senders: strs(o.senders),
    not_senders: strs(o.not_senders),
    rooms: strs(o.rooms),
    not_rooms: strs(o.not_rooms),
    contains_url: typeof o.contains_url === 'boolean' ? o.contains_url : undefined,
  };
}

/** Current state of a room as a list, or the state just before timeline index `before`. */
export function stateAt(room: Room, before?: number): StoredEvent[] {
  if (before === undefined || before >= room.timeline.length) return [...room.state.values()];
  const state = new Map<string, StoredEvent>();
  for (let i = 0; i < before; i++) {
    const s = room.timeline[i] as StoredEvent;
    if (s.event.state_key !== undefined) state.set(`${s.event.type}\u0000${s.event.state_key}`, s);
  }
  return [...state.values()];
}
