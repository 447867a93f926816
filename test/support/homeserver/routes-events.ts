// Room events: send (idempotent per device and txn id), redact, fetch, context, /messages, relations,
// threads, receipts, read markers, typing and account data.
import { MatrixError, asObject, badJson, forbidden, invalidParam, notFound, optString } from './errors.ts';
import { streamToken, type Hs } from './context.ts';
import type { Ctx, Route } from './router.ts';
import { limitParam, paginate } from './paginate.ts';
import { redactEvent, sendUserEvent, type Txn } from './room-ops.ts';
import { eventMatches, formatEvent, requireVisible, stateAt, toEventFilter } from './serialize.ts';
import type { StoredEvent } from './store.ts';

function txnFor(ctx: Ctx, txnId: string): Txn {
  // Scoped to the device and the endpoint (spec: "Transaction identifiers"), so a retried request is a no-op.
  const endpoint = ctx.path.replace(/^\/_matrix\/client\/[^/]+/, '');
  return {
    userId: ctx.caller.userId,
    deviceId: ctx.caller.deviceId,
    txnId,
    key: `${ctx.caller.userId}\u0000${ctx.caller.deviceId}\u0000${endpoint}`,
  };
}

export function parseFilterParam(raw: string | null): Record<string, unknown> | undefined {
  if (raw === null) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'filter must be a JSON object');
  }
}

const RECEIPT_TYPES = ['m.read', 'm.read.private', 'm.fully_read'];

export function eventRoutes(hs: Hs): Route[] {
  const visibleEvent = (ctx: Ctx): { stored: StoredEvent; upTo: number } => {
    const roomId = ctx.params.roomId as string;
    const upTo = requireVisible(hs, roomId, ctx.caller.userId);
    const found = hs.store.events.get(ctx.params.eventId as string);
    if (!found || found.roomId !== roomId || found.stored.stream > upTo) throw notFound('Event not found.');
    return { stored: found.stored, upTo };
  };

  const setTyping = (roomId: string, userId: string, typing: boolean, timeout: number): void => {
    const room = hs.store.rooms.get(roomId);
    if (!room) return;
    if (typing) room.typing.set(userId, Date.now() + timeout);
    else if (!room.typing.delete(userId)) return;
    const bump = (): void => {
      room.typingStream = hs.store.nextStream();
      hs.store.commit({ k: 'bump', stream: room.typingStream });
    };
    bump();
    if (!typing) return;
    const expiry = room.typing.get(userId);
    const timer = setTimeout(() => {
      hs.timers.delete(timer);
      if (room.typing.get(userId) !== expiry) return;
      room.typing.delete(userId);
      bump();
    }, timeout);
    timer.unref();
    hs.timers.add(timer);
  };

  const accountData = (ctx: Ctx, roomId: string | undefined): { body: unknown } => {
    if (ctx.params.userId !== ctx.caller.userId) throw forbidden('Cannot access account data for other users.');
    const type = ctx.params.type as string;
    if (ctx.method === 'GET') {
      const entry = hs.store.accountData.get(`${ctx.caller.userId}\u0000${roomId ?? ''}`)?.get(type);
      if (!entry) throw notFound('Account data not found');
      return { body: entry.content };
    }
    // Spec v1.10: these are managed by their own endpoints and may not be set directly.
    if (type === 'm.fully_read' || type === 'm.push_rules')
      throw new MatrixError(405, 'M_BAD_JSON', `Cannot set ${type} through this API`);
    const content = asObject(ctx.body);
    hs.store.commit({ k: 'ad', stream: hs.store.nextStream(), userId: ctx.caller.userId, roomId, type, content });
    return { body: {} };
  };

  const receipt = (
    roomId: string,
    userId: string,
    type: string,
    eventId: string,
    threadId: string | undefined,
  ): void => {
    if (!RECEIPT_TYPES.includes(type)) throw invalidParam(`Receipt type must be one of ${RECEIPT_TYPES.join(', ')}`);
    const found = hs.store.events.get(eventId);
    if (!found || found.roomId !== roomId) throw notFound('Event not found');
    if (type === 'm.fully_read') {
      hs.store.commit({ k: 'ad', stream: hs.store.nextStream(), userId, roomId, type, content: { event_id: eventId } });
      return;
    }
    hs.store.commit({
      k: 'receipt',
      stream: hs.store.nextStream(),
      roomId,
      userId,
      type,
      eventId,
      ts: Date.now(),
      threadId,
    });
  };
  const requireJoined = (roomId: string, userId: string): void => {
    if (hs.store.membership(roomId, userId)?.membership !== 'join')
      throw forbidden(`User ${userId} not in room ${roomId}`);
  };

  const relations = (ctx: Ctx): { body: unknown } => {
    const { stored, upTo } = visibleEvent(ctx);
    const relType = ctx.params.relType;
    const eventType = ctx.params.eventType;
    const children = (hs.store.relations.get(stored.event.event_id) ?? []).filter((c) => {
      const rel = c.event.content['m.relates_to'] as { rel_type?: unknown } | undefined;
      return (
        c.stream <= upTo &&
        rel !== undefined &&
        (relType === undefined || rel.rel_type === relType) &&
        (eventType === undefined || c.event.type === eventType)
      );
    });
    const page = paginate(
      children,
      ctx.query.get('dir') ?? 'b',
      ctx.query.get('from'),
      ctx.query.get('to'),
      limitParam(ctx.query.get('limit'), 50),
      hs.store.stream,
    );
    const body: Record<string, unknown> = { chunk: page.chunk.map((s) => formatEvent(hs, s, ctx.caller, { upTo })) };
    if (page.next) body.next_batch = page.next;
    if (ctx.query.get('from') !== null) body.prev_batch = ctx.query.get('from');
    return { body };
  };

  return [
    {
      method: 'PUT',
      pattern: 'client:/rooms/:roomId/send/:type/:txnId',
      auth: 'required',
      handler: (ctx) => {
        const txn = txnFor(ctx, ctx.params.txnId as string);
        const previous = hs.store.txns.get(txn.key);
        if (previous) return { body: { event_id: previous } };
        const stored = sendUserEvent(
          hs,
          ctx.params.roomId as string,
          ctx.caller.userId,
          ctx.params.type as string,
          asObject(ctx.body),
          undefined,
          txn,
        );
        return { body: { event_id: stored.event.event_id } };
      },
    },
    {
      method: 'PUT',
      pattern: 'client:/rooms/:roomId/redact/:eventId/:txnId',
      auth: 'required',
      handler: (ctx) => {
        const txn = txnFor(ctx, ctx.params.txnId as string);
        const previous = hs.store.txns.get(txn.key);
        if (previous) return { body: { event_id: previous } };
        const stored = redactEvent(
          hs,
          ctx.params.roomId as string,
          ctx.caller.userId,
          ctx.params.eventId as string,
          optString(asObject(ctx.body), 'reason'),
          txn,
        );
        return { body: { event_id: stored.event.event_id } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/event/:eventId',
      auth: 'required',
      handler: (ctx) => {
        const { stored, upTo } = visibleEvent(ctx);
        return { body: formatEvent(hs, stored, ctx.caller, { upTo }) };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/context/:eventId',
      auth: 'required',
      handler: (ctx) => {
        const { stored, upTo } = visibleEvent(ctx);
        const room = hs.store.rooms.get(stored.event.room_id);
        if (!room) throw notFound('Event not found.');
        const limit = limitParam(ctx.query.get('limit'), 10, 100);
        const filter = toEventFilter(parseFilterParam(ctx.query.get('filter')));
        const idx = room.timeline.indexOf(stored);
        const before = room.timeline
          .slice(0, idx)
          .filter((s) => eventMatches(filter, s.event))
          .reverse()
          .slice(0, Math.floor(limit / 2));
        const after = room.timeline
          .slice(idx + 1)
          .filter((s) => s.stream <= upTo && eventMatches(filter, s.event))
          .slice(0, limit - Math.floor(limit / 2));
        const fmt = (s: StoredEvent): Record<string, unknown> => formatEvent(hs, s, ctx.caller, { upTo });
        return {
          body: {
            event: fmt(stored),
            events_before: before.map(fmt),
            events_after: after.map(fmt),
            start: streamToken((before.at(-1) ?? stored).stream - 1),
            end: streamToken((after.at(-1) ?? stored).stream),
            state: stateAt(room, idx + 1).map((s) => formatEvent(hs, s, ctx.caller, { bundle: false })),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/messages',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        const upTo = requireVisible(hs, roomId, ctx.caller.userId);
        const rawFilter = parseFilterParam(ctx.query.get('filter'));
        const filter = toEventFilter(rawFilter);
        const room = hs.store.rooms.get(roomId);
        const candidates = (room?.timeline ?? []).filter((s) => s.stream <= upTo && eventMatches(filter, s.event));
        const dir = ctx.query.get('dir') ?? 'b';
        const page = paginate(
          candidates,
          dir,
          ctx.query.get('from'),
          ctx.query.get('to'),
          limitParam(ctx.query.get('limit'), filter?.limit ?? 10),
          Math.min(hs.store.stream, upTo),
        );
        const body: Record<string, unknown> = {
          chunk: page.chunk.map((s) => formatEvent(hs, s, ctx.caller, { upTo })),
          start: page.start,
        };
        const last = page.chunk.at(-1);
        if (page.next) body.end = page.next;
        else if (dir === 'f' && last) body.end = streamToken(last.stream);
        if (rawFilter?.lazy_load_members === true && room) {
          const senders = new Set(page.chunk.map((s) => s.event.sender));
          body.state = [...room.state.values()]
            .filter((s) => s.event.type === 'm.room.member' && senders.has(s.event.state_key as string))
            .map((s) => formatEvent(hs, s, ctx.caller, { bundle: false }));
        }
        return { body };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/relations/:eventId/:relType?/:eventType?',
      auth: 'required',
      handler: relations,
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/threads',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        const upTo = requireVisible(hs, roomId, ctx.caller.userId);
        const roots = (hs.store.rooms.get(roomId)?.timeline ?? []).filter(
          (s) =>
            s.stream <= upTo &&
            (hs.store.relations.get(s.event.event_id) ?? []).some(
              (c) => (c.event.content['m.relates_to'] as { rel_type?: unknown } | undefined)?.rel_type === 'm.thread',
            ),
        );
        const participated = ctx.query.get('include') === 'participated';
        const chosen = participated
          ? roots.filter(
              (r) =>
                r.event.sender === ctx.caller.userId ||
                (hs.store.relations.get(r.event.event_id) ?? []).some((c) => c.event.sender === ctx.caller.userId),
            )
          : roots;
        const page = paginate(
          chosen,
          'b',
          ctx.query.get('from'),
          null,
          limitParam(ctx.query.get('limit'), 50),
          hs.store.stream,
        );
        const body: Record<string, unknown> = {
          chunk: page.chunk.map((s) => formatEvent(hs, s, ctx.caller, { upTo })),
        };
        if (page.next) body.next_batch = page.next;
        return { body };
      },
    },
    {
      method: 'POST',
      pattern: 'client:/rooms/:roomId/receipt/:receiptType/:eventId',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        requireJoined(roomId, ctx.caller.userId);
        const threadId = optString(asObject(ctx.body), 'thread_id');
        receipt(roomId, ctx.caller.userId, ctx.params.receiptType as string, ctx.params.eventId as string, threadId);
        return { body: {} };
      },
    },
    {
      method: 'POST',
      pattern: 'client:/rooms/:roomId/read_markers',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        requireJoined(roomId, ctx.caller.userId);
        const body = asObject(ctx.body);
        for (const type of RECEIPT_TYPES) {
          const eventId = optString(body, type);
          if (eventId !== undefined) receipt(roomId, ctx.caller.userId, type, eventId, undefined);
        }
        return { body: {} };
      },
    },
    {
      method: 'PUT',
      pattern: 'client:/rooms/:roomId/typing/:userId',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        if (ctx.params.userId !== ctx.caller.userId) throw forbidden("Cannot set another user's typing state");
        requireJoined(roomId, ctx.caller.userId);
        const body = asObject(ctx.body);
        if (typeof body.typing !== 'boolean') throw badJson("'typing' must be a boolean");
        const timeout = typeof body.timeout === 'number' ? Math.min(Math.max(body.timeout, 1), 120_000) : 30_000;
        setTyping(roomId, ctx.caller.userId, body.typing, timeout);
        return { body: {} };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/user/:userId/account_data/:type',
      auth: 'required',
      handler: (ctx) => accountData(ctx, undefined),
    },
    {
      method: 'PUT',
      pattern: 'client:/user/:userId/account_data/:type',
      auth: 'required',
      handler: (ctx) => accountData(ctx, undefined),
    },
    {
      method: 'GET',
      pattern: 'client:/user/:userId/rooms/:roomId/account_data/:type',
      auth: 'required',
      handler: (ctx) => accountData(ctx, ctx.params.roomId),
    },
    {
      method: 'PUT',
      pattern: 'client:/user/:userId/rooms/:roomId/account_data/:type',
      auth: 'required',
      handler: (ctx) => accountData(ctx, ctx.params.roomId),
    },
  ];
}
