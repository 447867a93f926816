// The spec's redaction algorithm (room versions 1–11): which content keys survive a redaction.
const KEEP_V11: Record<string, string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server', 'third_party_invite'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': [
    'ban',
    'events',
    'events_default',
    'invite',
    'kick',
    'redact',
    'state_default',
    'users',
    'users_default',
  ],
  'm.room.history_visibility': ['history_visibility'],
  'm.room.redaction': ['redacts'],
};
const KEEP_OLD: Record<string, string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': [
    'ban',
    'events',
    'events_default',
    'kick',
    'redact',
    'state_default',
    'users',
    'users_default',
  ],
  'm.room.history_visibility': ['history_visibility'],
  'm.room.aliases': ['aliases'],
};

export function redactContent(
  type: string,
  content: Record<string, unknown>,
  roomVersion: string,
): Record<string, unknown> {
  const v11 = Number(roomVersion) >= 11;
  if (v11 && type === 'm.room.create') return { ...content };
  const keep = (v11 ? KEEP_V11 : KEEP_OLD)[type] ?? [];
  const out: Record<string, unknown> = {};
  for (const k of keep) if (k in content) out[k] = content[k];
  if (
    v11 &&
    type === 'm.room.member' &&
    typeof content.third_party_invite === 'object' &&
    content.third_party_invite !== null
  ) {
    const signed = (content.third_party_invite as Record<string, unknown>).signed;
    out.third_party_invite = signed === undefined ? {} : { signed };
  }
  return out;
}
