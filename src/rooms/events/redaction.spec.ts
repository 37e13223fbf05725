import { redact } from './redaction.js';

// The redaction algorithm (matrix-spec.md §2): what v10 and v11 keep, and where they differ.

const envelope = {
  event_id: '$e',
  room_id: '!r:hs',
  sender: '@u:hs',
  origin_server_ts: 1,
  depth: 5,
  prev_events: ['$p'],
  auth_events: ['$a'],
  hashes: { sha256: 'h' },
  signatures: { hs: { 'ed25519:1': 's' } },
  unsigned: { age: 1 },
  origin: 'hs',
  membership: 'join',
  prev_state: [],
  redacts: '$target',
  custom_top_level: true,
};

const event = (type: string, content: Record<string, unknown>, stateKey?: string) => ({
  ...envelope,
  type,
  content,
  ...(stateKey !== undefined ? { state_key: stateKey } : {}),
});

const ESSENTIAL = [
  'event_id',
  'type',
  'room_id',
  'sender',
  'state_key',
  'content',
  'hashes',
  'signatures',
  'depth',
  'prev_events',
  'auth_events',
  'origin_server_ts',
];

describe('redaction', () => {
  it('v10 keeps origin, membership and prev_state at the top level; v11 drops them', () => {
    const e = event('m.room.message', { body: 'hi' });
    expect(Object.keys(redact(e, '10')).sort()).toEqual(
      [...ESSENTIAL.filter((k) => k !== 'state_key'), 'origin', 'membership', 'prev_state'].sort(),
    );
    expect(Object.keys(redact(e, '11')).sort()).toEqual(ESSENTIAL.filter((k) => k !== 'state_key').sort());
  });

  it('drops unsigned, top-level redacts and unknown keys in both versions', () => {
    for (const v of ['10', '11'] as const) {
      const r = redact(event('m.room.redaction', { redacts: '$target' }), v) as Record<string, unknown>;
      expect(r.unsigned).toBeUndefined();
      expect(r.redacts).toBeUndefined();
      expect(r.custom_top_level).toBeUndefined();
    }
  });

  it('keeps state_key, even when empty', () => {
    expect(redact(event('m.room.topic', { topic: 'x' }, ''), '11')).toMatchObject({
      state_key: '',
      content: {},
    });
  });

  it('empties the content of ordinary events in both versions', () => {
    for (const v of ['10', '11'] as const) {
      expect(redact(event('m.room.message', { body: 'secret', msgtype: 'm.text' }), v).content).toEqual({});
      expect(redact(event('m.room.name', { name: 'x' }, ''), v).content).toEqual({});
    }
  });

  it('m.room.create: v10 keeps only creator, v11 keeps everything', () => {
    const content = { creator: '@u:hs', room_version: '10', 'm.federate': false, predecessor: {} };
    expect(redact(event('m.room.create', content, ''), '10').content).toEqual({ creator: '@u:hs' });
    expect(redact(event('m.room.create', content, ''), '11').content).toEqual(content);
  });

  it('m.room.power_levels: v10 drops invite, v11 keeps it', () => {
    const content = {
      ban: 50,
      events: { 'm.room.name': 50 },
      events_default: 0,
      invite: 0,
      kick: 50,
      redact: 50,
      state_default: 50,
      users: { '@u:hs': 100 },
      users_default: 0,
      notifications: { room: 50 },
    };
    const { invite: _invite, notifications: _n, ...v10 } = content;
    const { notifications: _n2, ...v11 } = content;
    expect(redact(event('m.room.power_levels', content, ''), '10').content).toEqual(v10);
    expect(redact(event('m.room.power_levels', content, ''), '11').content).toEqual(v11);
  });

  it('m.room.redaction: v10 empties the content, v11 keeps redacts', () => {
    const content = { redacts: '$target', reason: 'spam' };
    expect(redact(event('m.room.redaction', content), '10').content).toEqual({});
    expect(redact(event('m.room.redaction', content), '11').content).toEqual({ redacts: '$target' });
  });

  it('m.room.member: keeps membership and join_authorised_via_users_server; only v11 keeps third_party_invite.signed', () => {
    const content = {
      membership: 'join',
      displayname: 'U',
      avatar_url: 'mxc://hs/a',
      join_authorised_via_users_server: '@v:hs',
      third_party_invite: { display_name: 'x', signed: { token: 't' } },
    };
    expect(redact(event('m.room.member', content, '@u:hs'), '10').content).toEqual({
      membership: 'join',
      join_authorised_via_users_server: '@v:hs',
    });
    expect(redact(event('m.room.member', content, '@u:hs'), '11').content).toEqual({
      membership: 'join',
      join_authorised_via_users_server: '@v:hs',
      third_party_invite: { signed: { token: 't' } },
    });
  });

  it('m.room.join_rules keeps join_rule and allow; m.room.history_visibility keeps history_visibility', () => {
    for (const v of ['10', '11'] as const) {
      const rules = { join_rule: 'restricted', allow: [{ type: 'm.room_membership' }], other: 1 };
      expect(redact(event('m.room.join_rules', rules, ''), v).content).toEqual({
        join_rule: 'restricted',
        allow: [{ type: 'm.room_membership' }],
      });
      expect(
        redact(event('m.room.history_visibility', { history_visibility: 'joined', x: 1 }, ''), v).content,
      ).toEqual({ history_visibility: 'joined' });
    }
  });

  it('does not change its input', () => {
    const e = event('m.room.message', { body: 'hi' });
    const copy = JSON.parse(JSON.stringify(e));
    redact(e, '11');
    expect(e).toEqual(copy);
  });
});
