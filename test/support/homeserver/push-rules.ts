// The spec's server-default push rules ("Predefined Rules"), filled in for one user.
const sound = { set_tweak: 'sound', value: 'default' };
const highlight = { set_tweak: 'highlight' };

export function defaultPushRules(userId: string): Record<string, unknown> {
  const local = userId.slice(1).split(':')[0] ?? '';
  const ev = (key: string, pattern: string): Record<string, unknown> => ({ kind: 'event_match', key, pattern });
  const rule = (
    rule_id: string,
    conditions: unknown[],
    actions: unknown[],
    enabled = true,
  ): Record<string, unknown> => ({ rule_id, default: true, enabled, conditions, actions });
  return {
    global: {
      override: [
        rule('.m.rule.master', [], [], false),
        rule('.m.rule.suppress_notices', [ev('content.msgtype', 'm.notice')], []),
        rule(
          '.m.rule.invite_for_me',
          [ev('type', 'm.room.member'), ev('content.membership', 'invite'), ev('state_key', userId)],
          ['notify', sound],
        ),
        rule('.m.rule.member_event', [ev('type', 'm.room.member')], []),
        rule(
          '.m.rule.is_user_mention',
          [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
          ['notify', sound, highlight],
        ),
        rule('.m.rule.contains_display_name', [{ kind: 'contains_display_name' }], ['notify', sound, highlight]),
        rule(
          '.m.rule.is_room_mention',
          [
            { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
            { kind: 'sender_notification_permission', key: 'room' },
          ],
          ['notify', highlight],
        ),
        rule(
          '.m.rule.roomnotif',
          [ev('content.body', '@room'), { kind: 'sender_notification_permission', key: 'room' }],
          ['notify', highlight],
        ),
        rule('.m.rule.tombstone', [ev('type', 'm.room.tombstone'), ev('state_key', '')], ['notify', highlight]),
        rule('.m.rule.reaction', [ev('type', 'm.reaction')], []),
        rule('.m.rule.room.server_acl', [ev('type', 'm.room.server_acl'), ev('state_key', '')], []),
        rule(
          '.m.rule.suppress_edits',
          [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }],
          [],
        ),
      ],
      content: [
        {
          rule_id: '.m.rule.contains_user_name',
          default: true,
          enabled: true,
          pattern: local,
          actions: ['notify', sound, highlight],
        },
      ],
      room: [],
      sender: [],
      underride: [
        rule('.m.rule.call', [ev('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }]),
        rule(
          '.m.rule.encrypted_room_one_to_one',
          [{ kind: 'room_member_count', is: '2' }, ev('type', 'm.room.encrypted')],
          ['notify', sound],
        ),
        rule(
          '.m.rule.room_one_to_one',
          [{ kind: 'room_member_count', is: '2' }, ev('type', 'm.room.message')],
          ['notify', sound],
        ),
        rule('.m.rule.message', [ev('type', 'm.room.message')], ['notify']),
        rule('.m.rule.encrypted', [ev('type', 'm.room.encrypted')], ['notify']),
      ],
    },
  };
}
