// The team room: created once with its power levels and initial state, found again by a marker state
// event (so a crash between creating it and saving its id makes no second room), and its membership
// brought in line with the bots in settings.
import { MatrixError, type MatrixClient } from 'matrix-js-sdk';

/** A state event only our team room carries. */
export const TEAM_ROOM_MARKER = 'io.agent-room.team';

export interface RoomSettings {
  name: string;
  topic: string;
}

/**
 * Bots stand one level above other members so that they, and not any guest of the owner's, may invite: a bot added
 * later to an encrypted room is invited by a bot that holds the room's keys and hands them over with the invite.
 */
export const BOT_POWER_LEVEL = 1;

/**
 * Owner is admin; bots (and anyone else) may post but not change state, kick, ban or redact. In an encrypted room
 * bots may also invite (an unencrypted room needs no key handover, so there they stay at the default level).
 */
export function teamPowerLevels(
  ownerId: string,
  botIds: readonly string[],
  opts: { encrypted?: boolean } = {},
): Record<string, unknown> {
  const botLevel = opts.encrypted ? BOT_POWER_LEVEL : 0;
  return {
    users: { [ownerId]: 100, ...Object.fromEntries(botIds.map((id) => [id, botLevel])) },
    users_default: 0,
    events_default: 0,
    state_default: 50,
    invite: opts.encrypted ? BOT_POWER_LEVEL : 50,
    kick: 50,
    ban: 50,
    redact: 50,
    events: {
      'm.room.name': 50,
      'm.room.topic': 50,
      'm.room.avatar': 50,
      'm.room.canonical_alias': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.join_rules': 100,
      'm.room.guest_access': 100,
      'm.room.encryption': 100,
      'm.room.server_acl': 100,
      'm.room.tombstone': 100,
    },
    notifications: { room: 50 },
  };
}

export function createTeamRoomRequest(
  room: RoomSettings,
  ownerId: string,
  botIds: readonly string[],
  opts: { encrypted?: boolean } = {},
): Parameters<MatrixClient['createRoom']>[0] {
  return {
    preset: 'private_chat' as never,
    visibility: 'private' as never,
    name: room.name,
    topic: room.topic,
    invite: [...botIds],
    power_level_content_override: teamPowerLevels(ownerId, botIds, opts),
    initial_state: [
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
      { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'forbidden' } },
      { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
      { type: TEAM_ROOM_MARKER, state_key: '', content: { version: 1 } },
      // Encrypted from its first message: switching later leaves the history before it in clear on the server.
      ...(opts.encrypted
        ? [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }]
        : []),
    ],
  };
}

function isMissing(err: unknown): boolean {
  return (
    err instanceof MatrixError &&
    (err.errcode === 'M_NOT_FOUND' || err.errcode === 'M_FORBIDDEN' || err.httpStatus === 404 || err.httpStatus === 403)
  );
}

async function stateOrUndefined(
  client: MatrixClient,
  roomId: string,
  type: string,
  stateKey: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    return await client.getStateEvent(roomId, type, stateKey);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export async function membershipOf(owner: MatrixClient, roomId: string, userId: string): Promise<string | undefined> {
  const member = await stateOrUndefined(owner, roomId, 'm.room.member', userId);
  return typeof member?.membership === 'string' ? member.membership : undefined;
}

/** The stored room if the owner is in it, else a joined room carrying the marker, else undefined. */
export async function findTeamRoom(
  owner: MatrixClient,
  ownerId: string,
  storedRoomId: string | undefined,
): Promise<string | undefined> {
  if (storedRoomId && (await membershipOf(owner, storedRoomId, ownerId)) === 'join') return storedRoomId;
  const { joined_rooms: joined } = await owner.getJoinedRooms();
  for (const roomId of joined) {
    if (await stateOrUndefined(owner, roomId, TEAM_ROOM_MARKER, '')) return roomId;
  }
  return undefined;
}

/** Name and topic follow settings when the person changes them there. */
export async function syncRoomDetails(owner: MatrixClient, roomId: string, room: RoomSettings): Promise<void> {
  const name = await stateOrUndefined(owner, roomId, 'm.room.name', '');
  if (name?.name !== room.name)
    await owner.sendStateEvent(roomId, 'm.room.name' as never, { name: room.name } as never, '');
  const topic = await stateOrUndefined(owner, roomId, 'm.room.topic', '');
  if (topic?.topic !== room.topic)
    await owner.sendStateEvent(roomId, 'm.room.topic' as never, { topic: room.topic } as never, '');
}

/** Invites the bot if needed and makes it join; nothing happens when it is already in. */
export async function ensureJoined(
  owner: MatrixClient,
  bot: MatrixClient,
  roomId: string,
  botId: string,
): Promise<void> {
  const membership = await membershipOf(owner, roomId, botId);
  if (membership === 'join') return;
  if (membership === 'ban') await owner.unban(roomId, botId);
  if (membership !== 'invite') await owner.invite(roomId, botId);
  await bot.joinRoom(roomId);
}

/**
 * A room made before bots could invite (or with bots added since) gets the bots' level and an invite level they
 * meet; nothing is sent when it is already so. Other levels are left as the person may have set them.
 */
export async function ensureBotsMayInvite(
  owner: MatrixClient,
  roomId: string,
  botIds: readonly string[],
): Promise<boolean> {
  const pl = ((await stateOrUndefined(owner, roomId, 'm.room.power_levels', '')) ?? {}) as {
    users?: Record<string, number>;
    invite?: number;
  };
  const users = { ...pl.users };
  let changed = false;
  for (const id of botIds) {
    if ((users[id] ?? 0) < BOT_POWER_LEVEL) {
      users[id] = BOT_POWER_LEVEL;
      changed = true;
    }
  }
  const invite = Math.min(pl.invite ?? 0, BOT_POWER_LEVEL);
  if (!changed && invite === (pl.invite ?? 0)) return false;
  await owner.sendStateEvent(roomId, 'm.room.power_levels' as never, { ...pl, users, invite } as never, '');
  return true;
}

/** A bot removed from settings leaves the room: the owner kicks it (its account stays, for a later return). */
export async function ensureRemoved(owner: MatrixClient, roomId: string, userId: string): Promise<boolean> {
  const membership = await membershipOf(owner, roomId, userId);
  if (membership !== 'join' && membership !== 'invite') return false;
  await owner.kick(roomId, userId, 'Removed from Agent Room settings');
  return true;
}
