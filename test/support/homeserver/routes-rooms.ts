// Rooms: createRoom with presets and initial state, membership changes, state, members and aliases.
import {
  MatrixError,
  asObject,
  badJson,
  forbidden,
  invalidParam,
  notFound,
  optArray,
  optBool,
  optObject,
  optString,
  reqString,
} from './errors.ts';
import { newRoomId, type Hs } from './context.ts';
import type { Ctx, Route } from './router.ts';
import { defaultPowerLevels } from './power-levels.ts';
import { changeMembership, commitEvent, sendUserEvent, type MembershipAction } from './room-ops.ts';
import { formatEvent, requireVisible, stateAt } from './serialize.ts';
import { stateKeyOf, type Room, type StoredEvent } from './store.ts';

export const SUPPORTED_ROOM_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'];

const PRESETS: Record<string, { join_rule: string; history_visibility: string; guest_access: string }> = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_access: 'forbidden' },
};

function createRoom(hs: Hs, ctx: Ctx): { body: unknown } {
  const body = asObject(ctx.body);
  const creator = ctx.caller.userId;
  const visibility = optString(body, 'visibility') ?? 'private';
  const preset = optString(body, 'preset') ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
  const p = PRESETS[preset];
  if (!p) throw invalidParam(`Unknown preset ${preset}`);
  const version = optString(body, 'room_version') ?? hs.config.defaultRoomVersion;
  if (!SUPPORTED_ROOM_VERSIONS.includes(version))
    throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${version} is not supported`);
  const invites = (optArray(body, 'invite') ?? []).map((u) => {
    if (typeof u !== 'string') throw badJson('invite must be a list of user ids');
    return u;
  });
  const initialState = (optArray(body, 'initial_state') ?? []).map((s) => {
    const o = asObject(s);
    return {
      type: reqString(o, 'type'),
      stateKey: optString(o, 'state_key') ?? '',
      content: optObject(o, 'content') ?? {},
    };
  });
  const override = optObject(body, 'power_level_content_override');
  const creation = optObject(body, 'creation_content') ?? {};
  const name = optString(body, 'name');
  const topic = optString(body, 'topic');
  const isDirect = optBool(body, 'is_direct') ?? false;
  const aliasName = optString(body, 'room_alias_name');
  const alias = aliasName === undefined ? undefined : `#${aliasName}:${hs.config.serverName}`;
  if (alias && hs.store.aliases.has(alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
  for (const u of invites) if (!hs.store.users.has(u)) throw notFound(`Unknown user ${u}`);

  const roomId = newRoomId(hs);
  const createContent: Record<string, unknown> = { ...creation, room_version: version };
  if (Number(version) < 11) createContent.creator = creator;
  commitEvent(hs, roomId, creator, 'm.room.create', createContent, '');
  changeMembership(hs, roomId, creator, creator, 'join');
  commitEvent(
    hs,
    roomId,
    creator,
    'm.room.power_levels',
    { ...defaultPowerLevels(creator, preset, invites), ...override },
    '',
  );
  if (alias) {
    hs.store.commit({ k: 'alias', alias, roomId });
    commitEvent(hs, roomId, creator, 'm.room.canonical_alias', { alias }, '');
  }
  const overridden = new Set(initialState.map((s) => stateKeyOf(s.type, s.stateKey)));
  const presetEvents: Array<[string, Record<string, unknown>]> = [
    ['m.room.join_rules', { join_rule: p.join_rule }],
    ['m.room.history_visibility', { history_visibility: p.history_visibility }],
    ['m.room.guest_access', { guest_access: p.guest_access }],
  ];
  for (const [type, content] of presetEvents)
    if (!overridden.has(stateKeyOf(type, ''))) commitEvent(hs, roomId, creator, type, content, '');
  for (const s of initialState) commitEvent(hs, roomId, creator, s.type, s.content, s.stateKey);
  if (name !== undefined) commitEvent(hs, roomId, creator, 'm.room.name', { name }, '');
  if (topic !== undefined) commitEvent(hs, roomId, creator, 'm.room.topic', { topic }, '');
  for (const u of invites) changeMembership(hs, roomId, creator, u, 'invite', isDirect ? { is_direct: true } : {});
  return { body: { room_id: roomId } };
}

function resolveRoom(hs: Hs, idOrAlias: string): string {
  if (idOrAlias.startsWith('#')) {
    const id = hs.store.aliases.get(idOrAlias);
    if (!id) throw notFound(`Room alias ${idOrAlias} not found`);
    return id;
  }
  if (!idOrAlias.startsWith('!')) throw invalidParam(`${idOrAlias} is not a room id or alias`);
  return idOrAlias;
}

function roomFor(hs: Hs, roomId: string): Room {
  const room = hs.store.rooms.get(roomId);
  if (!room) throw forbidden(`User not in room ${roomId}, or the room does not exist`);
  return room;
}

/** State as the caller may see it: current while joined, as of their leave event after leaving. */
function visibleState(hs: Hs, ctx: Ctx, roomId: string): StoredEvent[] {
  const room = roomFor(hs, roomId);
  const upTo = requireVisible(hs, roomId, ctx.caller.userId);
  if (upTo === Number.POSITIVE_INFINITY) return stateAt(room);
  const idx = room.timeline.findIndex((s) => s.stream > upTo);
  return stateAt(room, idx === -1 ? undefined : idx);
}

export function roomRoutes(hs: Hs): Route[] {
  const member =
    (action: MembershipAction, targetFromBody: boolean) =>
    (ctx: Ctx): { body: unknown } => {
      const body = asObject(ctx.body);
      const roomId = ctx.params.roomId as string;
      const target = targetFromBody ? reqString(body, 'user_id') : ctx.caller.userId;
      const reason = optString(body, 'reason');
      changeMembership(hs, roomId, ctx.caller.userId, target, action, reason === undefined ? {} : { reason });
      return { body: action === 'join' ? { room_id: roomId } : {} };
    };
  const joinAny = (ctx: Ctx): { body: unknown } => {
    const roomId = resolveRoom(hs, ctx.params.roomIdOrAlias as string);
    const reason = optString(asObject(ctx.body), 'reason');
    changeMembership(hs, roomId, ctx.caller.userId, ctx.caller.userId, 'join', reason === undefined ? {} : { reason });
    return { body: { room_id: roomId } };
  };

  return [
    { method: 'POST', pattern: 'client:/createRoom', auth: 'required', handler: (ctx) => createRoom(hs, ctx) },
    { method: 'POST', pattern: 'client:/join/:roomIdOrAlias', auth: 'required', handler: joinAny },
    { method: 'POST', pattern: 'client:/rooms/:roomId/join', auth: 'required', handler: member('join', false) },
    { method: 'POST', pattern: 'client:/rooms/:roomId/leave', auth: 'required', handler: member('leave', false) },
    { method: 'POST', pattern: 'client:/rooms/:roomId/invite', auth: 'required', handler: member('invite', true) },
    { method: 'POST', pattern: 'client:/rooms/:roomId/kick', auth: 'required', handler: member('kick', true) },
    { method: 'POST', pattern: 'client:/rooms/:roomId/ban', auth: 'required', handler: member('ban', true) },
    { method: 'POST', pattern: 'client:/rooms/:roomId/unban', auth: 'required', handler: member('unban', true) },
    {
      method: 'POST',
      pattern: 'client:/rooms/:roomId/forget',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        const m = hs.store.membership(roomId, ctx.caller.userId)?.membership;
        if (m === undefined) throw notFound('Not a known room');
        if (m === 'join' || m === 'invite')
          throw new MatrixError(400, 'M_UNKNOWN', 'User is in room, leave it before forgetting');
        hs.store.commit({ k: 'forget', userId: ctx.caller.userId, roomId });
        return { body: {} };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/joined_rooms',
      auth: 'required',
      handler: (ctx) => ({
        body: {
          joined_rooms: [...hs.store.rooms.keys()].filter(
            (id) => hs.store.membership(id, ctx.caller.userId)?.membership === 'join',
          ),
        },
      }),
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/state',
      auth: 'required',
      handler: (ctx) => ({
        body: visibleState(hs, ctx, ctx.params.roomId as string).map((s) =>
          formatEvent(hs, s, ctx.caller, { bundle: false }),
        ),
      }),
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/state/:type/:stateKey?',
      auth: 'required',
      handler: (ctx) => {
        const key = stateKeyOf(ctx.params.type as string, ctx.params.stateKey ?? '');
        const found = visibleState(hs, ctx, ctx.params.roomId as string).find(
          (s) => stateKeyOf(s.event.type, s.event.state_key ?? '') === key,
        );
        if (!found) throw notFound('Event not found.');
        return {
          body:
            ctx.query.get('format') === 'event'
              ? formatEvent(hs, found, ctx.caller, { bundle: false })
              : found.event.content,
        };
      },
    },
    {
      method: 'PUT',
      pattern: 'client:/rooms/:roomId/state/:type/:stateKey?',
      auth: 'required',
      handler: (ctx) => {
        const content = asObject(ctx.body);
        const stored = sendUserEvent(
          hs,
          ctx.params.roomId as string,
          ctx.caller.userId,
          ctx.params.type as string,
          content,
          ctx.params.stateKey ?? '',
        );
        return { body: { event_id: stored.event.event_id } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/members',
      auth: 'required',
      handler: (ctx) => {
        const want = ctx.query.get('membership');
        const notWant = ctx.query.get('not_membership');
        const chunk = visibleState(hs, ctx, ctx.params.roomId as string)
          .filter((s) => s.event.type === 'm.room.member')
          .filter(
            (s) =>
              (want === null || s.event.content.membership === want) &&
              (notWant === null || s.event.content.membership !== notWant),
          )
          .map((s) => formatEvent(hs, s, ctx.caller, { bundle: false }));
        return { body: { chunk } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/rooms/:roomId/joined_members',
      auth: 'required',
      handler: (ctx) => {
        const roomId = ctx.params.roomId as string;
        if (hs.store.membership(roomId, ctx.caller.userId)?.membership !== 'join')
          throw forbidden(`User ${ctx.caller.userId} not in room ${roomId}`);
        const joined: Record<string, unknown> = {};
        for (const s of roomFor(hs, roomId).state.values()) {
          if (s.event.type !== 'm.room.member' || s.event.content.membership !== 'join') continue;
          joined[s.event.state_key as string] = {
            display_name: s.event.content.displayname ?? null,
            avatar_url: s.event.content.avatar_url ?? null,
          };
        }
        return { body: { joined } };
      },
    },
    {
      method: 'GET',
      pattern: 'client:/directory/room/:alias',
      auth: 'optional',
      handler: (ctx) => ({
        body: { room_id: resolveRoom(hs, ctx.params.alias as string), servers: [hs.config.serverName] },
      }),
    },
    {
      method: 'PUT',
      pattern: 'client:/directory/room/:alias',
      auth: 'required',
      handler: (ctx) => {
        const alias = ctx.params.alias as string;
        if (!alias.startsWith('#') || !alias.endsWith(`:${hs.config.serverName}`))
          throw invalidParam('Alias must be on this server');
        if (hs.store.aliases.has(alias)) throw new MatrixError(409, 'M_UNKNOWN', 'Room alias already exists');
        const roomId = reqString(asObject(ctx.body), 'room_id');
        if (hs.store.membership(roomId, ctx.caller.userId)?.membership !== 'join')
          throw forbidden('You are not in that room');
        hs.store.commit({ k: 'alias', alias, roomId });
        return { body: {} };
      },
    },
    {
      method: 'DELETE',
      pattern: 'client:/directory/room/:alias',
      auth: 'required',
      handler: (ctx) => {
        const alias = ctx.params.alias as string;
        if (!hs.store.aliases.has(alias)) throw notFound('Alias not found');
        hs.store.commit({ k: 'alias', alias, roomId: null });
        return { body: {} };
      },
    },
  ];
}
