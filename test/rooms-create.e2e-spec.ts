import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { CS, RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';

/** POST /createRoom and its options, and the discovery endpoints a client calls first. */
describe('createRoom', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    bob = await client(t, 'bob');
  });
  afterAll(async () => {
    await t.close();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Event = any;
  async function stateOf(c: RoomClient, roomId: string): Promise<Map<string, Event>> {
    const res = expectStatus(await c.get(`/rooms/${roomId}/state`), 200);
    expectMatchesSpec(res, 'rooms.yaml', 'get', '/rooms/{roomId}/state');
    return new Map(res.body.map((e: Event) => [`${e.type}|${e.state_key}`, e]));
  }
  const content = (state: Map<string, Event>, type: string, key = '') => state.get(`${type}|${key}`)?.content;

  async function create(body: object) {
    const res = await alice.post('/createRoom', body);
    expectMatchesSpec(res, 'create_room.yaml', 'post', '/createRoom');
    return res;
  }

  it('creates a private v10 room by default, with the creator joined at level 100', async () => {
    const res = expectStatus(await create({}), 200);
    const roomId = res.body.room_id as string;
    expect(roomId).toMatch(/^![A-Za-z0-9]+:test$/);
    const state = await stateOf(alice, roomId);
    expect(content(state, 'm.room.create')).toEqual({ room_version: '10', creator: alice.userId });
    expect(content(state, 'm.room.member', alice.userId)).toMatchObject({ membership: 'join' });
    expect(content(state, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
    expect(content(state, 'm.room.history_visibility')).toEqual({ history_visibility: 'shared' });
    expect(content(state, 'm.room.guest_access')).toEqual({ guest_access: 'can_join' });
    const pl = content(state, 'm.room.power_levels');
    expect(pl.users).toEqual({ [alice.userId]: 100 });
    expect(pl).toMatchObject({
      invite: 0,
      kick: 50,
      ban: 50,
      redact: 50,
      state_default: 50,
      events_default: 0,
    });
    expect(state.has('m.room.name|')).toBe(false);
  });

  it('writes the events in the order the spec gives', async () => {
    const roomId = (
      await create({
        preset: 'private_chat',
        name: 'N',
        topic: 'T',
        room_alias_name: 'ordered',
        initial_state: [{ type: 'org.example.x', content: { a: 1 } }],
        invite: [bob.userId],
      })
    ).body.room_id;
    const res = expectStatus(await alice.messages(roomId, { dir: 'f', limit: 50 }), 200);
    expect(res.body.chunk.map((e: Event) => e.type)).toEqual([
      'm.room.create',
      'm.room.member',
      'm.room.power_levels',
      'm.room.canonical_alias',
      'm.room.join_rules',
      'm.room.history_visibility',
      'm.room.guest_access',
      'org.example.x',
      'm.room.name',
      'm.room.topic',
      'm.room.member',
    ]);
    // Each stored PDU follows the one before it: a linear DAG with consecutive depths.
    const rows = await t.sql<{ pdu: string; event_id: string }>(
      `SELECT pdu, event_id FROM room_events WHERE room_id = $1 ORDER BY stream_pos`,
      [roomId],
    );
    rows.forEach((row, i) => {
      const pdu = JSON.parse(row.pdu);
      expect(pdu.depth).toBe(i + 1);
      expect(pdu.prev_events).toEqual(i === 0 ? [] : [rows[i - 1].event_id]);
      expect(pdu.hashes.sha256).toMatch(/^[A-Za-z0-9+/]{43}$/);
      expect(pdu.signatures.test['ed25519:auto'] ?? Object.values(pdu.signatures.test)[0]).toBeDefined();
      expect(pdu.event_id).toBeUndefined();
    });
  });

  it('public_chat: public join rule, no guests, invite level 50', async () => {
    const roomId = (await create({ preset: 'public_chat' })).body.room_id;
    const state = await stateOf(alice, roomId);
    expect(content(state, 'm.room.join_rules')).toEqual({ join_rule: 'public' });
    expect(content(state, 'm.room.guest_access')).toEqual({ guest_access: 'forbidden' });
    expect(content(state, 'm.room.power_levels').invite).toBe(50);
    await bob.join(roomId);
  });

  it('trusted_private_chat: invitees get the creator level', async () => {
    const roomId = (await create({ preset: 'trusted_private_chat', invite: [bob.userId] })).body.room_id;
    const state = await stateOf(alice, roomId);
    expect(content(state, 'm.room.power_levels').users).toEqual({ [alice.userId]: 100, [bob.userId]: 100 });
    expect(content(state, 'm.room.member', bob.userId)).toEqual({ membership: 'invite' });
    expect(content(state, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
  });

  it('without a preset, visibility public means public_chat', async () => {
    const roomId = (await create({ visibility: 'public' })).body.room_id;
    expect(content(await stateOf(alice, roomId), 'm.room.join_rules')).toEqual({ join_rule: 'public' });
  });

  it('sets name and topic, which win over initial_state; initial_state wins over the preset', async () => {
    const roomId = (
      await create({
        preset: 'private_chat',
        name: 'The name',
        topic: 'The topic',
        initial_state: [
          { type: 'm.room.name', content: { name: 'overridden' } },
          { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'public' } },
          { type: 'org.example.keyed', state_key: 'k', content: { v: 1 } },
        ],
      })
    ).body.room_id;
    const state = await stateOf(alice, roomId);
    expect(content(state, 'm.room.name')).toEqual({ name: 'The name' });
    expect(content(state, 'm.room.topic')).toEqual({ topic: 'The topic' });
    expect(content(state, 'm.room.join_rules')).toEqual({ join_rule: 'public' });
    expect(content(state, 'org.example.keyed', 'k')).toEqual({ v: 1 });
  });

  it('room_alias_name creates the alias and the canonical alias; a taken one is M_ROOM_IN_USE', async () => {
    const res = expectStatus(await create({ room_alias_name: 'lunch' }), 200);
    const roomId = res.body.room_id;
    const resolved = expectStatus(await bob.get(`/directory/room/${encodeURIComponent('#lunch:test')}`), 200);
    expect(resolved.body).toEqual({ room_id: roomId, servers: ['test'] });
    expect(content(await stateOf(alice, roomId), 'm.room.canonical_alias')).toEqual({ alias: '#lunch:test' });

    const rooms = await t.sql(`SELECT count(*)::int AS n FROM rooms`);
    const taken = await create({ room_alias_name: 'lunch' });
    expect(taken.status).toBe(400);
    expect(taken.body.errcode).toBe('M_ROOM_IN_USE');
    expect(await t.sql(`SELECT count(*)::int AS n FROM rooms`)).toEqual(rooms);
  });

  it.each([['with:colon'], ['with space'], ['']])('refuses room_alias_name %j', async (name) => {
    const res = await create({ room_alias_name: name });
    expect(res.status).toBe(400);
    expect(res.body.errcode).toBe('M_INVALID_PARAM');
  });

  it('merges power_level_content_override over the defaults', async () => {
    const roomId = (
      await create({
        power_level_content_override: {
          events_default: 10,
          users: { [alice.userId]: 100, [bob.userId]: 20 },
        },
        preset: 'public_chat',
      })
    ).body.room_id;
    const pl = content(await stateOf(alice, roomId), 'm.room.power_levels');
    expect(pl).toMatchObject({
      events_default: 10,
      kick: 50,
      users: { [alice.userId]: 100, [bob.userId]: 20 },
    });
    await bob.join(roomId);
    expectStatus(await bob.sendRaw(roomId, { msgtype: 'm.text', body: 'level 20 is enough' }), 200);
  });

  it('refuses a power_level_content_override that breaks the power level rules with 400', async () => {
    const res = await create({ power_level_content_override: { users: { 'not-a-user': 5 } } });
    expect(res.status).toBe(400);
    expect(res.body.errcode).toBe('M_INVALID_PARAM');
  });

  it('keeps creation_content, but the server sets creator and room_version', async () => {
    const roomId = (
      await create({
        creation_content: {
          'm.federate': false,
          creator: '@mallory:test',
          room_version: '1',
          type: 'org.example',
        },
      })
    ).body.room_id;
    expect(content(await stateOf(alice, roomId), 'm.room.create')).toEqual({
      'm.federate': false,
      creator: alice.userId,
      room_version: '10',
      type: 'org.example',
    });
  });

  it('creates v11 rooms: no creator in the create event', async () => {
    const roomId = (await create({ room_version: '11', name: 'eleven' })).body.room_id;
    const state = await stateOf(alice, roomId);
    expect(content(state, 'm.room.create')).toEqual({ room_version: '11' });
    expect(state.get('m.room.create|').sender).toBe(alice.userId);
    expect(content(state, 'm.room.power_levels').users).toEqual({ [alice.userId]: 100 });
    // The creator still has every right (the rules take it from the create sender).
    await alice.state(roomId, 'm.room.topic', { topic: 'v11 works' });
    const [row] = await t.sql<{ room_version: string }>(`SELECT room_version FROM rooms WHERE room_id = $1`, [
      roomId,
    ]);
    expect(row.room_version).toBe('11');
  });

  it.each([['12'], ['1'], ['banana']])(
    'refuses room_version %j with M_UNSUPPORTED_ROOM_VERSION',
    async (v) => {
      const res = await create({ room_version: v });
      expect(res.status).toBe(400);
      expect(res.body.errcode).toBe('M_UNSUPPORTED_ROOM_VERSION');
    },
  );

  it('is_direct marks the invites', async () => {
    const roomId = (await create({ is_direct: true, invite: [bob.userId], preset: 'trusted_private_chat' }))
      .body.room_id;
    expect(content(await stateOf(alice, roomId), 'm.room.member', bob.userId)).toEqual({
      membership: 'invite',
      is_direct: true,
    });
    const sync = await bob.sync();
    const invite = sync.rooms.invite[roomId].invite_state.events.find(
      (e: Event) => e.type === 'm.room.member' && e.state_key === bob.userId,
    );
    expect(invite.content).toEqual({ membership: 'invite', is_direct: true });
  });

  it('visibility public lists the room in the public directory, private does not', async () => {
    const pub = (await create({ visibility: 'public', name: 'Listed room' })).body.room_id;
    const priv = (await create({ visibility: 'private', name: 'Unlisted room' })).body.room_id;
    const res = expectStatus(await t.http.get(`${CS}/publicRooms`), 200);
    expectMatchesSpec(res, 'list_public_rooms.yaml', 'get', '/publicRooms');
    const ids = res.body.chunk.map((c: Event) => c.room_id);
    expect(ids).toContain(pub);
    expect(ids).not.toContain(priv);
    expect(res.body.chunk.find((c: Event) => c.room_id === pub)).toMatchObject({
      name: 'Listed room',
      num_joined_members: 1,
      world_readable: false,
      guest_can_join: false,
      join_rule: 'public',
    });
  });

  it('refuses invitees that are not users: bad IDs 400, unknown users 404, and creates nothing', async () => {
    const before = await t.sql(`SELECT count(*)::int AS n FROM rooms`);
    const bad = await create({ invite: ['bob'] });
    expect(bad.status).toBe(400);
    expect(bad.body.errcode).toBe('M_INVALID_PARAM');
    const unknown = await create({ invite: ['@nobody:test'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errcode).toBe('M_NOT_FOUND');
    expect(await t.sql(`SELECT count(*)::int AS n FROM rooms`)).toEqual(before);
  });

  it('ignores the creator in the invite list', async () => {
    const roomId = (await create({ invite: [alice.userId, bob.userId] })).body.room_id;
    const state = await stateOf(alice, roomId);
    expect(content(state, 'm.room.member', alice.userId).membership).toBe('join');
    expect(content(state, 'm.room.member', bob.userId).membership).toBe('invite');
  });

  it('refuses floats and bad shapes in the body with M_BAD_JSON', async () => {
    for (const body of [
      { creation_content: { x: 1.5 } },
      { power_level_content_override: { ban: 1.5 } },
      { initial_state: [{ type: 'x', content: { f: 0.1 } }] },
      { initial_state: [{ content: {} }] },
      { initial_state: 'x' },
      { invite: 'x' },
      { preset: 'open' },
      { visibility: 'everyone' },
      { room_version: 11 },
      { is_direct: 'yes' },
      { name: 5 },
    ]) {
      const res = await create(body);
      expect([res.status, res.body.errcode, JSON.stringify(body)]).toEqual([
        400,
        'M_BAD_JSON',
        JSON.stringify(body),
      ]);
    }
  });

  it('needs an access token', async () => {
    const res = await t.http.post(`${CS}/createRoom`).send({});
    expect(res.status).toBe(401);
    expect(res.body.errcode).toBe('M_MISSING_TOKEN');
  });

  it('also answers under r0', async () => {
    const res = await alice.post('/_matrix/client/r0/createRoom', {});
    expect(res.status).toBe(200);
  });
});

/** What a client asks before anything else; their answers must match the spec. */
describe('discovery and account endpoints match the spec', () => {
  let t: TestApp;
  let alice: RoomClient;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET /versions', async () => {
    const res = expectStatus(await t.http.get('/_matrix/client/versions'), 200);
    expectMatchesSpec(res, 'versions.yaml', 'get', '/versions');
  });

  it('GET /capabilities advertises room versions 10 (default) and 11', async () => {
    const res = expectStatus(await alice.get('/capabilities'), 200);
    expectMatchesSpec(res, 'capabilities.yaml', 'get', '/capabilities');
    expect(res.body.capabilities['m.room_versions']).toEqual({
      default: '10',
      available: { '10': 'stable', '11': 'stable' },
    });
  });

  it('GET /pushrules/ gives the default rule set', async () => {
    const res = expectStatus(await alice.get('/pushrules/'), 200);
    expectMatchesSpec(res, 'pushrules.yaml', 'get', '/pushrules/');
    expect(res.body.global.override.map((r: { rule_id: string }) => r.rule_id)).toContain('.m.rule.master');
    expect(res.body.global.content[0].pattern).toBe('alice');
    const noSlash = expectStatus(await alice.get('/pushrules'), 200);
    expect(noSlash.body).toEqual(res.body);
    expect((await t.http.get(`${CS}/pushrules/`)).status).toBe(401);
  });

  it('GET and POST /login', async () => {
    expectMatchesSpec(expectStatus(await t.http.get(`${CS}/login`), 200), 'login.yaml', 'get', '/login');
    const ok = await t.http.post(`${CS}/login`).send({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'alice' },
      password: 'correct horse battery',
    });
    expectMatchesSpec(expectStatus(ok, 200), 'login.yaml', 'post', '/login');
    const wrong = await t.http
      .post(`${CS}/login`)
      .send({ type: 'm.login.password', user: 'alice', password: 'nope' });
    expectMatchesSpec(expectStatus(wrong, 403), 'login.yaml', 'post', '/login');
  });

  it('POST /register: the UIA challenge and the result', async () => {
    const first = expectStatus(
      await t.http.post(`${CS}/register`).send({ username: 'carol', password: 'pw-carol-1234' }),
      401,
    );
    expectMatchesSpec(first, 'registration.yaml', 'post', '/register');
    const done = await t.http.post(`${CS}/register`).send({
      username: 'carol',
      password: 'pw-carol-1234',
      auth: { type: 'm.login.dummy', session: first.body.session },
    });
    expectMatchesSpec(expectStatus(done, 200), 'registration.yaml', 'post', '/register');
    const taken = await t.http.post(`${CS}/register`).send({
      username: 'carol',
      password: 'pw-carol-1234',
      auth: { type: 'm.login.dummy', session: first.body.session },
    });
    expectMatchesSpec(expectStatus(taken, 400), 'registration.yaml', 'post', '/register');
  });
});
