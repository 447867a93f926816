// Power-level decisions from the spec's authorization rules, as pure functions of a power_levels content.
export type PowerLevels = Record<string, unknown>;

function num(v: unknown, fallback: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return fallback;
}

/** No m.room.power_levels yet: the creator has 100, everyone else 0 (auth rules, "power levels"). */
export function userLevel(pl: PowerLevels | undefined, userId: string, creator?: string): number {
  if (!pl) return userId === creator ? 100 : 0;
  const users = (pl.users ?? {}) as Record<string, unknown>;
  return num(users[userId], num(pl.users_default, 0));
}

export function eventLevel(pl: PowerLevels | undefined, type: string, isState: boolean): number {
  if (!pl) return 0;
  const events = (pl.events ?? {}) as Record<string, unknown>;
  if (events[type] !== undefined) return num(events[type], 0);
  return isState ? num(pl.state_default, 50) : num(pl.events_default, 0);
}

export function actionLevel(pl: PowerLevels | undefined, action: 'invite' | 'kick' | 'ban' | 'redact'): number {
  if (!pl) return action === 'invite' ? 0 : 50;
  return num(pl[action], action === 'invite' ? 0 : 50);
}

/**
 * A new power_levels content is allowed only if every changed level (users, events, top-level keys) is
 * at most the sender's own level, and no other user at or above the sender's level is changed (auth rule 10).
 */
export function powerLevelsChangeAllowed(
  oldPl: PowerLevels | undefined,
  newPl: PowerLevels,
  sender: string,
  creator?: string,
): boolean {
  const senderLevel = userLevel(oldPl, sender, creator);
  if (!oldPl) return true;
  for (const key of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
    const before = oldPl[key];
    const after = newPl[key];
    if (before === after) continue;
    if ((before !== undefined && num(before, 0) > senderLevel) || (after !== undefined && num(after, 0) > senderLevel))
      return false;
  }
  const oldEvents = (oldPl.events ?? {}) as Record<string, unknown>;
  const newEvents = (newPl.events ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(oldEvents), ...Object.keys(newEvents)])) {
    if (oldEvents[k] === newEvents[k]) continue;
    if (
      (oldEvents[k] !== undefined && num(oldEvents[k], 0) > senderLevel) ||
      (newEvents[k] !== undefined && num(newEvents[k], 0) > senderLevel)
    )
      return false;
  }
  const oldUsers = (oldPl.users ?? {}) as Record<string, unknown>;
  const newUsers = (newPl.users ?? {}) as Record<string, unknown>;
  for (const u of new Set([...Object.keys(oldUsers), ...Object.keys(newUsers)])) {
    if (oldUsers[u] === newUsers[u]) continue;
    if (oldUsers[u] !== undefined && u !== sender && num(oldUsers[u], 0) >= senderLevel) return false;
    if (newUsers[u] !== undefined && num(newUsers[u], 0) > senderLevel) return false;
  }
  return true;
}

/** Synapse's defaults for a new room's power levels, by preset. */
export function defaultPowerLevels(creator: string, preset: string, invitees: string[]): PowerLevels {
  const users: Record<string, number> = { [creator]: 100 };
  if (preset === 'trusted_private_chat') for (const u of invitees) users[u] = 100;
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: preset === 'public_chat' ? 50 : 0,
    historical: 100,
    notifications: { room: 50 },
  };
}
