import {
  AuthError,
  PowerLevels,
  authorize,
  roomCreator,
  selectAuthEvents,
  type AuthEvent,
  type AuthState,
  type StateEntry,
} from './event-auth.js';
import type { RoomVersion } from './room-versions.js';

// The authorization rules of room versions 10 and 11 (matrix-spec.md §2), each rule with a case it
// allows and a case it refuses.

const ROOM = '!room:hs';
const ALICE = '@alice:hs'; // the creator
const BOB = '@bob:hs';
const CAROL = '@carol:hs';
const CREATE_ID = '$create';

/** Room state as the auth rules see it, built up with small helpers. */
class State implements AuthState {
  private readonly entries = new Map<string, StateEntry>();
  private n = 0;

  get(type: string, stateKey: string): StateEntry | undefined {
    return this.entries.get(`${type}|${stateKey}`);
  }

  set(type: string, stateKey: string, sender: string, content: Record<string, unknown>): this {
    const eventId = type === 'm.room.create' ? CREATE_ID : `$e${++this.n}`;
    this.entries.set(`${type}|${stateKey}`, { event_id: eventId, sender, content });
    return this;
  }

  member(userId: string, membership: string, sender = userId): this {
    return this.set('m.room.member', userId, sender, { membership });
  }

  joinRule(rule: string): this {
    return this.set('m.room.join_rules', '', ALICE, { join_rule: rule });
  }

  powerLevels(content: Record<string, unknown>): this {
    return this.set('m.room.power_levels', '', ALICE, content);
  }
}

/** Just the create event, as createRoom writes it for each version. */
function created(version: RoomVersion, extra: Record<string, unknown> = {}, sender = ALICE): State {
  const content = { room_version: version, ...(version === '10' ? { creator: sender } : {}), ...extra };
  return new State().set('m.room.create', '', sender, content);
}

/** A room with the creator joined at 100 and the default levels (invite 0, kick/ban/redact 50, state 50). */
function room(version: RoomVersion = '10', users: Record<string, number> = {}): State {
  return created(version)
    .member(ALICE, 'join')
    .powerLevels({
      users: { [ALICE]: 100, ...users },
      users_default: 0,
      events: { 'm.room.name': 50, 'm.room.power_levels': 100 },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: 0,
    })
    .joinRule('invite');
}

function ev(
  type: string,
  sender: string,
  content: Record<string, unknown>,
  stateKey?: string,
  prevEvents = ['$previous'],
): AuthEvent {
  return {
    type,
    sender,
    content,
    room_id: ROOM,
    prev_events: prevEvents,
    ...(stateKey !== undefined ? { state_key: stateKey } : {}),
  };
}

const member = (sender: string, target: string, membership: string, prev?: string[]) =>
  ev('m.room.member', sender, { membership }, target, prev);
const pl = (sender: string, content: Record<string, unknown>) =>
  ev('m.room.power_levels', sender, content, '');

function allowed(event: AuthEvent, state: AuthState, version: RoomVersion = '10'): void {
  expect(() => authorize(event, state, version)).not.toThrow();
}

function refused(event: AuthEvent, state: AuthState, reason: RegExp, version: RoomVersion = '10'): void {
  let error: unknown;
  try {
    authorize(event, state, version);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(AuthError);
  expect((error as Error).message).toMatch(reason);
}

describe('auth rules: m.room.create', () => {
  const create = (content: Record<string, unknown>, sender = ALICE, prev: string[] = []) =>
    ({ ...ev('m.room.create', sender, content, '', prev) }) as AuthEvent;

  it('allows a first event with a creator (v10) or without one (v11)', () => {
    allowed(create({ room_version: '10', creator: ALICE }), new State(), '10');
    allowed(create({ room_version: '11' }), new State(), '11');
  });

  it('refuses a create event with prev_events', () => {
    refused(create({ room_version: '10', creator: ALICE }, ALICE, ['$x']), new State(), /first event/);
  });

  it('refuses a room ID on another server than the sender', () => {
    refused(
      create({ room_version: '10', creator: '@x:elsewhere' }, '@x:elsewhere'),
      new State(),
      /same server/,
    );
  });

  it('refuses an unknown room version', () => {
    refused(create({ room_version: 'banana', creator: ALICE }), new State(), /unknown room version/);
    refused(create({ room_version: 11 }), new State(), /unknown room version/, '11');
  });

  it('v10 refuses a create event without content.creator', () => {
    refused(create({ room_version: '10' }), new State(), /no creator/, '10');
  });

  it('refuses anything but a create event in a room without one', () => {
    refused(ev('m.room.message', ALICE, { body: 'x' }), new State(), /no create event/);
  });
});

describe('auth rules: m.federate', () => {
  it('refuses senders from other servers when m.federate is false', () => {
    const s = created('10', { 'm.federate': false }).member(ALICE, 'join').joinRule('public');
    refused(member('@eve:elsewhere', '@eve:elsewhere', 'join'), s, /not federated/);
    allowed(member(BOB, BOB, 'join'), s);
  });

  it('lets other servers in when m.federate is absent', () => {
    const s = created('10').member(ALICE, 'join').joinRule('public');
    allowed(member('@eve:elsewhere', '@eve:elsewhere', 'join'), s);
  });
});

describe('auth rules: m.room.member', () => {
  it('refuses a member event without state_key or membership', () => {
    refused(ev('m.room.member', BOB, { membership: 'join' }), room(), /state_key and membership/);
    refused(ev('m.room.member', BOB, {}, BOB), room(), /state_key and membership/);
  });

  it('refuses a member event whose state_key is not a user ID', () => {
    refused(ev('m.room.member', ALICE, { membership: 'invite' }, 'bob'), room(), /user ID/);
  });

  it('refuses unknown memberships', () => {
    refused(member(ALICE, BOB, 'wizard'), room(), /unknown membership/);
  });
});

describe('auth rules: join', () => {
  it("allows the creator's first join straight after the create event (v10: content.creator)", () => {
    allowed(member(ALICE, ALICE, 'join', [CREATE_ID]), created('10'), '10');
  });

  it("allows the creator's first join straight after the create event (v11: the create sender)", () => {
    allowed(member(ALICE, ALICE, 'join', [CREATE_ID]), created('11'), '11');
  });

  it('does not treat v11 content.creator as the creator', () => {
    const s = created('11', { creator: CAROL });
    refused(member(CAROL, CAROL, 'join', [CREATE_ID]), s, /invite-only/, '11');
  });

  it('does not give v10 create senders the first join when content.creator names someone else', () => {
    const s = created('10', { creator: CAROL });
    refused(member(ALICE, ALICE, 'join', [CREATE_ID]), s, /invite-only/, '10');
    allowed(member(CAROL, CAROL, 'join', [CREATE_ID]), s, '10');
  });

  it('gives the creator no shortcut once other events follow the create event', () => {
    refused(member(ALICE, ALICE, 'join', ['$later']), created('10'), /invite-only/);
  });

  it('refuses joining on behalf of someone else', () => {
    refused(member(ALICE, BOB, 'join'), room().joinRule('public'), /on behalf/);
    allowed(member(BOB, BOB, 'join'), room().joinRule('public'));
  });

  it('refuses banned users, even in public rooms', () => {
    refused(member(BOB, BOB, 'join'), room().joinRule('public').member(BOB, 'ban', ALICE), /banned/);
  });

  it('invite rule: allows invited or joined users, refuses others', () => {
    allowed(member(BOB, BOB, 'join'), room().member(BOB, 'invite', ALICE));
    allowed(member(BOB, BOB, 'join'), room().member(BOB, 'join'));
    refused(member(BOB, BOB, 'join'), room(), /invite-only/);
    refused(member(BOB, BOB, 'join'), room().member(BOB, 'leave'), /invite-only/);
  });

  it('treats a room without join rules as invite-only', () => {
    const s = created('10').member(ALICE, 'join');
    refused(member(BOB, BOB, 'join'), s, /invite-only/);
    allowed(member(BOB, BOB, 'join'), s.member(BOB, 'invite', ALICE));
  });

  it('knock rule: allows invited users, refuses others', () => {
    allowed(member(BOB, BOB, 'join'), room().joinRule('knock').member(BOB, 'invite', ALICE));
    refused(member(BOB, BOB, 'join'), room().joinRule('knock'), /invite-only/);
  });

  it('restricted rule: allows invited users, refuses others (authorised joins are not supported)', () => {
    allowed(member(BOB, BOB, 'join'), room().joinRule('restricted').member(BOB, 'invite', ALICE));
    refused(member(BOB, BOB, 'join'), room().joinRule('restricted'), /restricted/);
  });

  it('public rule: allows anyone', () => {
    allowed(member(BOB, BOB, 'join'), room().joinRule('public'));
    allowed(member(BOB, BOB, 'join'), room().joinRule('public').member(BOB, 'leave'));
  });

  it('refuses unknown join rules', () => {
    refused(member(BOB, BOB, 'join'), room().joinRule('private'), /does not allow/);
  });
});

describe('auth rules: invite', () => {
  it('allows a joined sender at the invite level', () => {
    allowed(member(ALICE, BOB, 'invite'), room());
  });

  it('refuses senders who are not joined', () => {
    refused(member(CAROL, BOB, 'invite'), room().member(CAROL, 'invite', ALICE), /not joined/);
    refused(member(CAROL, BOB, 'invite'), room(), /not joined/);
  });

  it('refuses targets who are joined or banned', () => {
    refused(member(ALICE, BOB, 'invite'), room().member(BOB, 'join'), /already in the room/);
    refused(member(ALICE, BOB, 'invite'), room().member(BOB, 'ban', ALICE), /banned/);
    allowed(member(ALICE, BOB, 'invite'), room().member(BOB, 'leave'));
  });

  it('refuses senders below the invite level', () => {
    const s = room().member(CAROL, 'join');
    allowed(member(CAROL, BOB, 'invite'), s);
    s.powerLevels({ users: { [ALICE]: 100 }, invite: 50 });
    refused(member(CAROL, BOB, 'invite'), s, /too low to invite/);
  });

  it('refuses third-party invites', () => {
    const invite = ev('m.room.member', ALICE, { membership: 'invite', third_party_invite: {} }, BOB);
    refused(invite, room(), /third-party/);
  });
});

describe('auth rules: leave', () => {
  it('allows leaving from invite, join or knock', () => {
    allowed(member(BOB, BOB, 'leave'), room().member(BOB, 'invite', ALICE));
    allowed(member(BOB, BOB, 'leave'), room().member(BOB, 'join'));
    allowed(member(BOB, BOB, 'leave'), room().member(BOB, 'knock'));
  });

  it('refuses leaving when not in the room or banned', () => {
    refused(member(BOB, BOB, 'leave'), room(), /not in the room/);
    refused(member(BOB, BOB, 'leave'), room().member(BOB, 'leave'), /not in the room/);
    refused(member(BOB, BOB, 'leave'), room().member(BOB, 'ban', ALICE), /not in the room/);
  });

  it('kick: allows a sender at the kick level above the target', () => {
    allowed(member(ALICE, BOB, 'leave'), room().member(BOB, 'join'));
    allowed(
      member(BOB, CAROL, 'leave'),
      room('10', { [BOB]: 50, [CAROL]: 49 })
        .member(BOB, 'join')
        .member(CAROL, 'join'),
    );
  });

  it('kick: refuses a sender below the kick level', () => {
    const s = room('10', { [BOB]: 49 })
      .member(BOB, 'join')
      .member(CAROL, 'join');
    refused(member(BOB, CAROL, 'leave'), s, /too low to kick/);
  });

  it('kick: refuses a target at or above the sender level', () => {
    const s = room('10', { [BOB]: 50, [CAROL]: 50 })
      .member(BOB, 'join')
      .member(CAROL, 'join');
    refused(member(BOB, CAROL, 'leave'), s, /too low to kick/);
    refused(member(BOB, ALICE, 'leave'), s, /too low to kick/);
  });

  it('kick: refuses senders who are not joined', () => {
    const s = room('10', { [BOB]: 100 })
      .member(BOB, 'leave')
      .member(CAROL, 'join');
    refused(member(BOB, CAROL, 'leave'), s, /not joined/);
  });

  it('unban: needs the ban level as well as the kick level', () => {
    const levels = {
      users: { [ALICE]: 100, [BOB]: 60 },
      kick: 50,
      ban: 70,
    };
    const s = room().powerLevels(levels).member(BOB, 'join').member(CAROL, 'ban', ALICE);
    refused(member(BOB, CAROL, 'leave'), s, /too low to unban/);
    s.powerLevels({ ...levels, ban: 60 });
    allowed(member(BOB, CAROL, 'leave'), s);
    s.powerLevels({ ...levels, ban: 60, kick: 61 });
    refused(member(BOB, CAROL, 'leave'), s, /too low to kick/);
  });
});

describe('auth rules: ban', () => {
  it('allows a joined sender at the ban level above the target', () => {
    allowed(member(ALICE, BOB, 'ban'), room());
    allowed(member(ALICE, BOB, 'ban'), room().member(BOB, 'join'));
  });

  it('refuses senders who are not joined', () => {
    refused(member(ALICE, BOB, 'ban'), room().member(ALICE, 'leave'), /not joined/);
  });

  it('refuses senders below the ban level', () => {
    const s = room('10', { [BOB]: 49 }).member(BOB, 'join');
    refused(member(BOB, CAROL, 'ban'), s, /too low to ban/);
  });

  it('refuses targets at or above the sender level', () => {
    const s = room('10', { [BOB]: 50, [CAROL]: 50 }).member(BOB, 'join');
    refused(member(BOB, CAROL, 'ban'), s, /too low to ban/);
    refused(member(BOB, ALICE, 'ban'), s, /too low to ban/);
  });
});

describe('auth rules: knock', () => {
  it('allows knocking on a knock room by someone not in it', () => {
    allowed(member(BOB, BOB, 'knock'), room().joinRule('knock'));
    allowed(member(BOB, BOB, 'knock'), room().joinRule('knock_restricted').member(BOB, 'leave'));
  });

  it('refuses knocking where the join rule does not allow it', () => {
    refused(member(BOB, BOB, 'knock'), room().joinRule('invite'), /does not allow knocking/);
    refused(member(BOB, BOB, 'knock'), room().joinRule('public'), /does not allow knocking/);
  });

  it('refuses knocking for someone else', () => {
    refused(member(ALICE, BOB, 'knock'), room().joinRule('knock'), /on behalf/);
  });

  it('refuses knocking when invited, joined or banned', () => {
    for (const membership of ['invite', 'join', 'ban'])
      refused(
        member(BOB, BOB, 'knock'),
        room().joinRule('knock').member(BOB, membership, ALICE),
        /cannot knock/,
      );
  });
});

describe('auth rules: other events', () => {
  it('refuses senders who are not joined', () => {
    const message = (sender: string) => ev('m.room.message', sender, { body: 'hi' });
    allowed(message(ALICE), room());
    refused(message(BOB), room(), /not joined/);
    refused(message(BOB), room().member(BOB, 'invite', ALICE), /not joined/);
    refused(message(BOB), room().member(BOB, 'leave'), /not joined/);
  });

  it('uses the events map for a type, over events_default and state_default', () => {
    const s = room('10', { [BOB]: 49 }).member(BOB, 'join');
    refused(ev('m.room.name', BOB, { name: 'x' }, ''), s, /too low to send m.room.name/);
    s.powerLevels({ users: { [ALICE]: 100, [BOB]: 49 }, events: { 'm.room.name': 49 } });
    allowed(ev('m.room.name', BOB, { name: 'x' }, ''), s);
    s.powerLevels({ users: { [ALICE]: 100, [BOB]: 49 }, events: { 'm.room.message': 50 } });
    refused(ev('m.room.message', BOB, { body: 'x' }), s, /too low to send m.room.message/);
  });

  it('uses events_default for other message events', () => {
    const s = room().member(BOB, 'join');
    allowed(ev('org.example.thing', BOB, {}), s);
    s.powerLevels({ users: { [ALICE]: 100 }, events_default: 1 });
    refused(ev('org.example.thing', BOB, {}), s, /too low/);
  });

  it('uses state_default for other state events (50 when the power levels leave it out)', () => {
    const s = room('10', { [BOB]: 50 })
      .member(BOB, 'join')
      .member(CAROL, 'join');
    allowed(ev('org.example.state', BOB, {}, ''), s);
    refused(ev('org.example.state', CAROL, {}, ''), s, /too low/);
    s.powerLevels({ users: { [ALICE]: 100 } });
    refused(ev('org.example.state', CAROL, {}, ''), s, /too low/);
    s.powerLevels({ users: { [ALICE]: 100 }, state_default: 0 });
    allowed(ev('org.example.state', CAROL, {}, ''), s);
  });

  it('lets any member send state when there is no power levels event (state_default is then 0)', () => {
    const s = created('10').member(ALICE, 'join').member(BOB, 'join');
    allowed(ev('m.room.topic', BOB, { topic: 'x' }, ''), s);
  });

  it('refuses state keys that are another user ID', () => {
    const s = room('10', { [BOB]: 50 }).member(BOB, 'join');
    allowed(ev('org.example.state', BOB, {}, BOB), s);
    refused(ev('org.example.state', BOB, {}, CAROL), s, /other than the sender/);
    allowed(ev('org.example.state', BOB, {}, 'not@a-user'), s);
  });

  it('authorises m.room.third_party_invite by the invite level alone', () => {
    const s = room('10').member(BOB, 'join');
    s.powerLevels({ users: { [ALICE]: 100 }, state_default: 50, invite: 0 });
    allowed(ev('m.room.third_party_invite', BOB, { display_name: 'x' }, 'token'), s);
    s.powerLevels({ users: { [ALICE]: 100 }, state_default: 0, invite: 10 });
    refused(ev('m.room.third_party_invite', BOB, { display_name: 'x' }, 'token'), s, /too low to invite/);
  });
});

describe('auth rules: m.room.power_levels', () => {
  const base = {
    users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 10 },
    users_default: 0,
    events: { 'm.room.name': 50, 'm.room.power_levels': 50, 'm.room.history_visibility': 75 },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    notifications: { room: 50 },
  };
  const withBob = () => room().powerLevels(base).member(BOB, 'join').member(CAROL, 'join');
  const change = (patch: Record<string, unknown>) => ({ ...base, ...patch });

  it('refuses non-integer levels', () => {
    for (const key of [
      'users_default',
      'events_default',
      'state_default',
      'ban',
      'redact',
      'kick',
      'invite',
    ]) {
      refused(pl(ALICE, change({ [key]: '50' })), withBob(), new RegExp(`${key} must be an integer`));
      refused(pl(ALICE, change({ [key]: 1.5 })), withBob(), new RegExp(`${key} must be an integer`));
    }
    allowed(pl(ALICE, change({ ban: 60 })), withBob());
  });

  it('refuses events and notifications maps that are not objects of integers', () => {
    refused(pl(ALICE, change({ events: [] })), withBob(), /events must be an object/);
    refused(pl(ALICE, change({ events: { 'm.room.name': '50' } })), withBob(), /events values/);
    refused(pl(ALICE, change({ notifications: 'room' })), withBob(), /notifications must be an object/);
    refused(pl(ALICE, change({ notifications: { room: 1.5 } })), withBob(), /notifications values/);
  });

  it('refuses a users map that is not user ID to integer', () => {
    refused(pl(ALICE, change({ users: [] })), withBob(), /users must be an object/);
    refused(pl(ALICE, change({ users: { [ALICE]: 100, bob: 5 } })), withBob(), /not a user ID/);
    refused(pl(ALICE, change({ users: { [ALICE]: 100, [BOB]: '50' } })), withBob(), /integers/);
  });

  it('allows any valid content when there is no previous power levels event', () => {
    const s = created('10').member(ALICE, 'join');
    allowed(pl(ALICE, { users: { [ALICE]: 100, [BOB]: 100 }, ban: 100, kick: 100 }), s);
  });

  it('refuses raising a level above the sender level, allows up to it', () => {
    refused(pl(BOB, change({ ban: 51 })), withBob(), /cannot set ban above/);
    allowed(pl(BOB, change({ ban: 40 })), withBob());
    allowed(pl(BOB, change({ kick: 50, state_default: 50, invite: 50 })), withBob());
  });

  it('refuses changing or removing a level that is above the sender level', () => {
    const s = withBob().powerLevels(change({ kick: 75 }));
    refused(pl(BOB, change({ kick: 25 })), s, /cannot change kick/);
    const { kick: _kick, ...withoutKick } = change({ kick: 75 });
    refused(pl(BOB, withoutKick), s, /cannot change kick/);
    allowed(pl(ALICE, change({ kick: 25 })), s);
  });

  it('applies the same rules to the events map', () => {
    refused(
      pl(BOB, change({ events: { ...base.events, 'org.example': 60 } })),
      withBob(),
      /events.org.example/,
    );
    allowed(pl(BOB, change({ events: { ...base.events, 'org.example': 50 } })), withBob());
    refused(
      pl(BOB, change({ events: { ...base.events, 'm.room.history_visibility': 50 } })),
      withBob(),
      /events.m.room.history_visibility/,
    );
    const { 'm.room.history_visibility': _hv, ...fewer } = base.events;
    refused(pl(BOB, change({ events: fewer })), withBob(), /events.m.room.history_visibility/);
    allowed(pl(BOB, change({ events: { ...base.events, 'm.room.name': 0 } })), withBob());
  });

  it('applies the same rules to the notifications map', () => {
    refused(pl(BOB, change({ notifications: { room: 60 } })), withBob(), /notifications.room/);
    allowed(pl(BOB, change({ notifications: { room: 20 } })), withBob());
  });

  it('users map: allows changing users below the sender, up to the sender level', () => {
    allowed(pl(BOB, change({ users: { ...base.users, [CAROL]: 50 } })), withBob());
    allowed(pl(BOB, change({ users: { ...base.users, [CAROL]: 0 } })), withBob());
    const { [CAROL]: _carol, ...withoutCarol } = base.users;
    allowed(pl(BOB, change({ users: withoutCarol })), withBob());
    allowed(pl(BOB, change({ users: { ...base.users, '@dan:hs': 50 } })), withBob());
  });

  it('users map: refuses giving anyone a level above the sender', () => {
    refused(pl(BOB, change({ users: { ...base.users, [CAROL]: 51 } })), withBob(), /above your own/);
    refused(pl(BOB, change({ users: { ...base.users, '@dan:hs': 51 } })), withBob(), /above your own/);
    refused(pl(BOB, change({ users: { ...base.users, [BOB]: 51 } })), withBob(), /above your own/);
  });

  it('users map: refuses changing or removing users at or above the sender level, except oneself', () => {
    const peers = change({ users: { ...base.users, [CAROL]: 50 } });
    const s = withBob().powerLevels(peers);
    refused(pl(BOB, { ...peers, users: { ...peers.users, [CAROL]: 10 } }), s, /not below yours/);
    const { [CAROL]: _carol, ...withoutCarol } = peers.users;
    refused(pl(BOB, { ...peers, users: withoutCarol }), s, /not below yours/);
    refused(pl(BOB, { ...peers, users: { ...peers.users, [ALICE]: 0 } }), s, /not below yours/);
    allowed(pl(BOB, { ...peers, users: { ...peers.users, [BOB]: 0 } }), s);
  });

  it('v10 takes the creator (level 100 without power levels) from content.creator', () => {
    const s = created('10', { creator: CAROL })
      .member(ALICE, 'join')
      .member(CAROL, 'join')
      .member(BOB, 'join');
    allowed(member(CAROL, BOB, 'ban'), s, '10');
    refused(member(ALICE, BOB, 'ban'), s, /too low to ban/, '10');
    expect(roomCreator(s.get('m.room.create', ''), '10')).toBe(CAROL);
  });

  it('v11 takes the creator (level 100 without power levels) from the create sender', () => {
    const s = created('11', { creator: CAROL })
      .member(ALICE, 'join')
      .member(CAROL, 'join')
      .member(BOB, 'join');
    allowed(member(ALICE, BOB, 'ban'), s, '11');
    refused(member(CAROL, BOB, 'ban'), s, /too low to ban/, '11');
    expect(roomCreator(s.get('m.room.create', ''), '11')).toBe(ALICE);
  });
});

describe('PowerLevels', () => {
  it('fills in the defaults', () => {
    const levels = new PowerLevels({ users: { [ALICE]: 100 } }, ALICE);
    expect(levels.userLevel(ALICE)).toBe(100);
    expect(levels.userLevel(BOB)).toBe(0);
    expect(levels.level('invite')).toBe(0);
    expect(levels.level('kick')).toBe(50);
    expect(levels.level('ban')).toBe(50);
    expect(levels.level('redact')).toBe(50);
    expect(levels.eventLevel('m.room.message', false)).toBe(0);
    expect(levels.eventLevel('m.room.topic', true)).toBe(50);
  });

  it('without a power levels event gives the creator 100 and state_default 0', () => {
    const levels = new PowerLevels(undefined, ALICE);
    expect(levels.userLevel(ALICE)).toBe(100);
    expect(levels.userLevel(BOB)).toBe(0);
    expect(levels.eventLevel('m.room.topic', true)).toBe(0);
  });

  it('uses users_default for users not listed', () => {
    expect(new PowerLevels({ users_default: 7 }, ALICE).userLevel(BOB)).toBe(7);
  });
});

describe('selectAuthEvents', () => {
  it('picks nothing for the create event', () => {
    expect(selectAuthEvents(ev('m.room.create', ALICE, {}, ''), room())).toEqual([]);
  });

  it('picks create, power levels and the sender for a message', () => {
    const s = room();
    const ids = selectAuthEvents(ev('m.room.message', ALICE, {}), s);
    expect(ids.sort()).toEqual(
      [CREATE_ID, s.get('m.room.power_levels', '')!.event_id, s.get('m.room.member', ALICE)!.event_id].sort(),
    );
  });

  it('adds the target and the join rules for a join or invite', () => {
    const s = room().member(BOB, 'invite', ALICE);
    const ids = selectAuthEvents(member(BOB, BOB, 'join'), s);
    expect(ids).toEqual(
      expect.arrayContaining([
        CREATE_ID,
        s.get('m.room.power_levels', '')!.event_id,
        s.get('m.room.member', BOB)!.event_id,
        s.get('m.room.join_rules', '')!.event_id,
      ]),
    );
    expect(ids).toHaveLength(4);
    const leave = selectAuthEvents(member(ALICE, BOB, 'leave'), s);
    expect(leave).not.toContain(s.get('m.room.join_rules', '')!.event_id);
  });
});
