/**
 * The server-default push rules (a subset of the spec's predefined rules, enough for clients to
 * decide what notifies). Lattice does not send push notifications; clients still need the rules.
 */
export function defaultPushRules(userId: string, localpart: string) {
  const notify = ['notify'];
  const sound = (s: string) => ({ set_tweak: 'sound', value: s });
  const highlight = { set_tweak: 'highlight' };
  return {
    global: {
      override: [
        { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] },
        {
          rule_id: '.m.rule.suppress_notices',
          default: true,
          enabled: true,
          conditions: [{ kind: 'event_match', key: 'content.msgtype', pattern: 'm.notice' }],
          actions: [],
        },
        {
          rule_id: '.m.rule.invite_for_me',
          default: true,
          enabled: true,
          conditions: [
            { kind: 'event_match', key: 'type', pattern: 'm.room.member' },
            { kind: 'event_match', key: 'content.membership', pattern: 'invite' },
            { kind: 'event_match', key: 'state_key', pattern: userId },
          ],
          actions: [...notify, sound('default')],
        },
        {
          rule_id: '.m.rule.member_event',
          default: true,
          enabled: true,
          conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.member' }],
          actions: [],
        },
        {
          rule_id: '.m.rule.contains_display_name',
          default: true,
          enabled: true,
          conditions: [{ kind: 'contains_display_name' }],
          actions: [...notify, sound('default'), highlight],
        },
        {
          rule_id: '.m.rule.roomnotif',
          default: true,
          enabled: true,
          conditions: [
            { kind: 'event_match', key: 'content.body', pattern: '@room' },
            { kind: 'sender_notification_permission', key: 'room' },
          ],
          actions: [...notify, highlight],
        },
        {
          rule_id: '.m.rule.tombstone',
          default: true,
          enabled: true,
          conditions: [
            { kind: 'event_match', key: 'type', pattern: 'm.room.tombstone' },
            { kind: 'event_match', key: 'state_key', pattern: '' },
          ],
          actions: [...notify, highlight],
        },
        {
          rule_id: '.m.rule.server_acl',
          default: true,
          enabled: true,
          conditions: [
            { kind: 'event_match', key: 'type', pattern: 'm.room.server_acl' },
            { kind: 'event_match', key: 'state_key', pattern: '' },
          ],
          actions: [],
        },
      ],
      content: [
        {
          rule_id: '.m.rule.contains_user_name',
          default: true,
          enabled: true,
          pattern: localpart,
          actions: [...notify, sound('default'), highlight],
        },
      ],
      room: [],
      sender: [],
      underride: [
        {
          rule_id: '.m.rule.call',
          default: true,
          enabled: true,
          conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.call.invite' }],
          actions: [...notify, sound('ring')],
        },
        {
          rule_id: '.m.rule.room_one_to_one',
          default: true,
          enabled: true,
          conditions: [
            { kind: 'room_member_count', is: '2' },
            { kind: 'event_match', key: 'type', pattern: 'm.room.message' },
          ],
          actions: [...notify, sound('default')],
        },
        {
          rule_id: '.m.rule.encrypted_room_one_to_one',
          default: true,
          enabled: true,
          conditions: [
            { kind: 'room_member_count', is: '2' },
            { kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' },
          ],
          actions: [...notify, sound('default')],
        },
        {
          rule_id: '.m.rule.message',
          default: true,
          enabled: true,
          conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }],
          actions: notify,
        },
        {
          rule_id: '.m.rule.encrypted',
          default: true,
          enabled: true,
          conditions: [{ kind: 'event_match', key: 'type', pattern: 'm.room.encrypted' }],
          actions: notify,
        },
      ],
    },
  };
}
