// Creating events under the spec's authorization rules: membership, power levels, size, redaction rights.
import { forbidden, MatrixError, notFound, tooLarge } from './errors.ts';
import { newEventId, type Hs } from './context.ts';
import { actionLevel, eventLevel, powerLevelsChangeAllowed, userLevel, type PowerLevels } from './power-levels.ts';
import type { ClientEvent, StoredEvent } from './store.ts';

export interface Txn {
  userId: string;
  deviceId: string;
  txnId: string;
  key: string;
}

function creatorOf(hs: Hs, roomId: string): string | undefined {
  const create = hs.store.rooms.get(roomId)?.state.get('m.room.create\u0000');
  return create?.event.sender;
}

export function powerLevelsOf(hs: Hs, roomId: string): PowerLevels | undefined {
  return hs.store.stateContent(roomId, 'm.room.power_levels');
}

export function levelOf(hs: Hs, roomId: string, userId: string): number {
  return userLevel(powerLevelsOf(hs, roomId), userId, creatorOf(hs, roomId));
}

/** Builds, size-checks and journals an event without authorization checks (callers check first). */
export function commitEvent(
  hs: Hs,
  roomId: string,
  sender: string,
  type: string,
  content: Record<string, unknown>,
  stateKey?: string,
  txn?: Txn,
  redacts?: string,
): StoredEvent {
  const event: ClientEvent = {
    event_id: newEventId(),
    type,
    room_id: roomId,
    sender,
    origin_server_ts: Date.now(),
    content,
  };
  if (stateKey !== undefined) event.state_key = stateKey;
  if (redacts !== undefined) {
    // Room versions before 11 carry `redacts` at the top level; 11 moved it into content.
    const version = hs.store.rooms.get(roomId)?.version ?? '10';
    if (Number(version) >= 11) event.content = { ...content, redacts };
    else event.redacts = redacts;
  }
  // The spec caps a whole event at 65536 bytes of canonical JSON; the PDU adds signatures and hashes, so this errs low.
  if (Buffer.byteLength(JSON.stringify(event)) + 300 > 65536)
    throw tooLarge('Event too large: events are limited to 65536 bytes');
  if (Buffer.byteLength(type) > 255 || (stateKey !== undefined && Buffer.byteLength(stateKey) > 255))
    throw tooLarge('Event type or state key too long');
  const stream = hs.store.nextStream();
  hs.store.commit({ k: 'event', stream, event, txn });
  const stored = hs.store.events.get(event.event_id)?.stored;
  if (!stored) throw new Error('event vanished after commit');
  return stored;
}

/** As Synapse validates it: every level is an integer (top-level levels, and the users, events and notifications maps). */
function checkPowerLevelsShape(content: Record<string, unknown>): void {
  const isLevel = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v);
  for (const key of ['ban', 'invite', 'kick', 'redact', 'state_default', 'events_default', 'users_default']) {
    if (content[key] !== undefined && !isLevel(content[key]))
      throw new MatrixError(400, 'M_BAD_JSON', `${key} must be an integer`);
  }
  for (const key of ['users', 'events', 'notifications']) {
    const map = content[key];
    if (map === undefined) continue;
    if (typeof map !== 'object' || map === null || Array.isArray(map))
      throw new MatrixError(400, 'M_BAD_JSON', `${key} must be an object`);
    for (const [k, v] of Object.entries(map))
      if (!isLevel(v)) throw new MatrixError(400, 'M_BAD_JSON', `${key}.${k} must be an integer`);
  }
}

function requireJoined(hs: Hs, roomId: string, userId: string): void {
  if (!hs.store.rooms.has(roomId)) throw forbidden(`User ${userId} not in room ${roomId}, or the room does not exist`);
  if (hs.store.membership(roomId, userId)?.membership !== 'join')
    throw forbidden(`User ${userId} not in room ${roomId}`);
}

/** A non-member event (message or state) sent by a user, after the auth rules a real server applies. */
export function sendUserEvent(
  hs: Hs,
  roomId: string,
  sender: string,
  type: string,
  content: Record<string, unknown>,
  stateKey?: string,
  txn?: Txn,
): StoredEvent {
  requireJoined(hs, roomId, sender);
  if (type === 'm.room.member') throw forbidden('Membership changes go through /invite, /join, /leave, /kick and /ban');
  if (type === 'm.room.create') throw forbidden('A room has exactly one m.room.create event');
  const isState = stateKey !== undefined;
  const pl = powerLevelsOf(hs, roomId);
  const level = levelOf(hs, roomId, sender);
  const needed = eventLevel(pl, type, isState);
  if (level < needed)
    throw forbidden(
      `You don't have permission to post that to the room. user_level (${level}) < send_level (${needed})`,
    );
  if (isState && stateKey.startsWith('@') && stateKey !== sender)
    throw forbidden('You cannot set state keyed by another user id');
  if (type === 'm.room.power_levels') checkPowerLevelsShape(content);
  if (type === 'm.room.power_levels' && !powerLevelsChangeAllowed(pl, content, sender, creatorOf(hs, roomId))) {
    throw forbidden('You cannot change power levels above your own level or for users at or above your level');
  }
  return commitEvent(hs, roomId, sender, type, content, stateKey, txn);
}

export function redactEvent(
  hs: Hs,
  roomId: string,
  sender: string,
  targetId: string,
  reason: string | undefined,
  txn: Txn,
): StoredEvent {
  requireJoined(hs, roomId, sender);
  const target = hs.store.events.get(targetId);
  if (!target || target.roomId !== roomId) throw notFound('Event not found');
  const pl = powerLevelsOf(hs, roomId);
  const level = levelOf(hs, roomId, sender);
  if (target.stored.event.sender !== sender && level < actionLevel(pl, 'redact'))
    throw forbidden("You don't have permission to redact events of others");
  if (level < eventLevel(pl, 'm.room.redaction', false))
    throw forbidden("You don't have permission to send redactions");
  return commitEvent(
    hs,
    roomId,
    sender,
    'm.room.redaction',
    reason === undefined ? {} : { reason },
    undefined,
    txn,
    targetId,
  );
}

function profileContent(hs: Hs, userId: string): Record<string, unknown> {
  const u = hs.store.users.get(userId);
  const out: Record<string, unknown> = {};
  if (u?.displayname !== undefined) out.displayname = u.displayname;
  if (u?.avatarUrl !== undefined) out.avatar_url = u.avatarUrl;
  return out;
}

export type MembershipAction = 'join' | 'invite' | 'leave' | 'kick' | 'ban' | 'unban';

/** Membership transitions under the auth rules for m.room.member. Returns undefined for a no-op leave. */
export function changeMembership(
  hs: Hs,
  roomId: string,
  sender: string,
  target: string,
  action: MembershipAction,
  extra: Record<string, unknown> = {},
): StoredEvent | undefined {
  const room = hs.store.rooms.get(roomId);
  if (!room)
    throw action === 'join' ? notFound(`No known room ${roomId}`) : forbidden(`User ${sender} not in room ${roomId}`);
  const senderM = hs.store.membership(roomId, sender)?.membership;
  const targetM = hs.store.membership(roomId, target)?.membership;
  const pl = powerLevelsOf(hs, roomId);
  const senderLevel = levelOf(hs, roomId, sender);
  const targetLevel = levelOf(hs, roomId, target);
  const commit = (membership: string, content: Record<string, unknown>): StoredEvent =>
    commitEvent(hs, roomId, sender, 'm.room.member', { ...extra, ...content, membership }, target);

  switch (action) {
    case 'join': {
      if (targetM === 'ban') throw forbidden('You are banned from this room');
      const rule = hs.store.stateContent(roomId, 'm.room.join_rules')?.join_rule ?? 'invite';
      // Auth rule: the creator's join right after m.room.create needs no join rule.
      const creatorJoin = room.timeline.length === 1 && creatorOf(hs, roomId) === target;
      if (!creatorJoin && targetM !== 'join' && targetM !== 'invite' && rule !== 'public')
        throw forbidden('You are not invited to this room.');
      // Joining again with an unchanged profile changes nothing, as on Synapse.
      const current = hs.store.membership(roomId, target);
      const content = { ...extra, ...profileContent(hs, target), membership: 'join' };
      if (targetM === 'join' && current && JSON.stringify(current.stored.event.content) === JSON.stringify(content))
        return current.stored;
      return commit('join', profileContent(hs, target));
    }
    case 'invite': {
      if (senderM !== 'join') throw forbidden(`User ${sender} not in room ${roomId}`);
      if (!hs.store.users.has(target)) throw notFound(`Unknown user ${target}`);
      if (targetM === 'join') throw forbidden(`${target} is already in the room.`);
      if (targetM === 'ban') throw forbidden(`${target} is banned from the room`);
      if (senderLevel < actionLevel(pl, 'invite')) throw forbidden("You don't have permission to invite users");
      return commit('invite', profileContent(hs, target));
    }
    case 'leave': {
      if (targetM === 'leave') return undefined;
      if (targetM !== 'join' && targetM !== 'invite' && targetM !== 'knock')
        throw forbidden(`User ${sender} not in room ${roomId}`);
      return commit('leave', {});
    }
    case 'kick': {
      if (senderM !== 'join') throw forbidden(`User ${sender} not in room ${roomId}`);
      if (targetM !== 'join' && targetM !== 'invite') throw forbidden(`${target} is not in the room`);
      if (senderLevel < actionLevel(pl, 'kick') || senderLevel <= targetLevel)
        throw forbidden("You don't have permission to kick this user");
      return commit('leave', {});
    }
    case 'ban': {
      if (senderM !== 'join') throw forbidden(`User ${sender} not in room ${roomId}`);
      if (senderLevel < actionLevel(pl, 'ban') || senderLevel <= targetLevel)
        throw forbidden("You don't have permission to ban this user");
      return commit('ban', {});
    }
    case 'unban': {
      if (senderM !== 'join') throw forbidden(`User ${sender} not in room ${roomId}`);
      if (targetM !== 'ban') throw forbidden(`${target} is not banned`);
      if (senderLevel < actionLevel(pl, 'ban')) throw forbidden("You don't have permission to unban this user");
      return commit('leave', {});
    }
  }
}

/** After a profile change, Synapse sends a fresh join event in every joined room so members see the new name. */
export function propagateProfile(hs: Hs, userId: string): void {
  for (const room of hs.store.rooms.values()) {
    const m = hs.store.membership(room.roomId, userId);
    if (m?.membership !== 'join') continue;
    const { displayname: _d, avatar_url: _a, ...rest } = m.stored.event.content;
    commitEvent(
      hs,
      room.roomId,
      userId,
      'm.room.member',
      { ...rest, ...profileContent(hs, userId), membership: 'join' },
      userId,
    );
  }
}
