import { verifyJsonSignature } from '../src/common/crypto/signing-key.js';
import { contentHash, eventIdOf } from '../src/rooms/events/event-hashing.js';
import { redact } from '../src/rooms/events/redaction.js';
import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { CS, RoomClient, bodies, client, expectStatus, txn } from './helpers/room-client.js';
import { TestApp, testEnvironment } from './helpers/test-app.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Event = any;

const SEND = '/rooms/{roomId}/send/{eventType}/{txnId}';
const STATE = '/rooms/{roomId}/state/{eventType}/{stateKey}';
const MESSAGES = '/rooms/{roomId}/messages';

function expectRefused(
  res: { status: number; body: { errcode?: string; error?: string } },
  status: number,
  errcode: string,
  reason?: RegExp,
) {
  expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status, errcode });
  if (reason) expect(res.body.error).toMatch(reason);
}

/** Sending events: transactions are idempotent per device, also across a restart and under concurrency. */
describe('send and transaction idempotence', () => {
  const env = testEnvironment();
  let t: TestApp;
  let alice: RoomClient;
  let roomId: string;

  beforeAll(async () => {
    t = await TestApp.start({}, env);
    alice = await client(t, 'alice');
    roomId = await alice.createRoom();
  });
  afterAll(async () => {
    await t.close();
  });

  const countTxn = async (txnId: string) =>
    (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM room_events WHERE txn_id = $1`, [txnId]))[0]
      .n;

  it('answers {event_id} and stores the message', async () => {
    const res = await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'hello' });
    expectMatchesSpec(expectStatus(res, 200), 'room_send.yaml', 'put', SEND);
    const event = expectStatus(await alice.get(`/rooms/${roomId}/event/${res.body.event_id}`), 200);
    expectMatchesSpec(event, 'rooms.yaml', 'get', '/rooms/{roomId}/event/{eventId}');
    expect(event.body).toMatchObject({
      event_id: res.body.event_id,
      room_id: roomId,
      type: 'm.room.message',
      sender: alice.userId,
      content: { msgtype: 'm.text', body: 'hello' },
    });
  });

  it('stores every event hashed, signed by the server and named by its reference hash', async () => {
    const room = await alice.createRoom({ name: 'signed' });
    await Promise.all(Array.from({ length: 8 }, (_, n) => alice.send(room, `signed ${n}`)));
    const keys = expectStatus(await t.http.get('/_matrix/key/v2/server'), 200).body;
    const [[keyId, { key }]] = Object.entries(keys.verify_keys as Record<string, { key: string }>);
    const rows = await t.sql<{ event_id: string; pdu: string }>(
      `SELECT event_id, pdu FROM room_events WHERE room_id = $1`,
      [room],
    );
    expect(rows.length).toBeGreaterThan(8);
    for (const row of rows) {
      const pdu = JSON.parse(row.pdu) as Record<string, unknown>;
      expect(eventIdOf(pdu, '10')).toBe(row.event_id);
      expect(contentHash(pdu)).toBe((pdu.hashes as { sha256: string }).sha256);
      expect(verifyJsonSignature(redact(pdu, '10'), t.serverName, keyId, key)).toBe(true);
    }
  });

  it('returns the same event for a retried transaction, and stores it once', async () => {
    const id = txn();
    const first = expectStatus(
      await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'once' }, 'm.room.message', id),
      200,
    );
    const again = expectStatus(
      await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'once' }, 'm.room.message', id),
      200,
    );
    expect(again.body.event_id).toBe(first.body.event_id);
    expect(await countTxn(id)).toBe(1);
  });

  it('scopes transactions per device and per endpoint', async () => {
    const id = txn();
    const first = expectStatus(
      await alice.sendRaw(roomId, { body: 'a', msgtype: 'm.text' }, 'm.room.message', id),
      200,
    );
    const login = expectStatus(
      await t.http
        .post(`${CS}/login`)
        .send({ type: 'm.login.password', user: 'alice', password: 'correct horse battery' }),
      200,
    );
    const otherDevice = new RoomClient(t, {
      ...alice.user,
      accessToken: login.body.access_token,
      deviceId: login.body.device_id,
    });
    const second = expectStatus(
      await otherDevice.sendRaw(roomId, { body: 'a', msgtype: 'm.text' }, 'm.room.message', id),
      200,
    );
    expect(second.body.event_id).not.toBe(first.body.event_id);
    const redaction = expectStatus(
      await alice.put(`/rooms/${roomId}/redact/${first.body.event_id}/${id}`),
      200,
    );
    expect(redaction.body.event_id).not.toBe(first.body.event_id);
    expect(await countTxn(id)).toBe(3);
  });

  it('two identical PUTs at the same time create one event', async () => {
    const id = txn();
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        alice.sendRaw(roomId, { msgtype: 'm.text', body: 'concurrent' }, 'm.room.message', id),
      ),
    );
    for (const r of results) expectStatus(r, 200);
    expect(new Set(results.map((r) => r.body.event_id)).size).toBe(1);
    expect(await countTxn(id)).toBe(1);
  });

  it('a burst of sends into one room: every sender gets its own event, the history stays one chain', async () => {
    // Concurrent sends into a room are written in batches; each must still be answered as if sent alone.
    const room = await alice.createRoom({ preset: 'public_chat' });
    const members = await Promise.all(['burst1', 'burst2', 'burst3'].map((name) => client(t, name)));
    for (const m of members) await m.join(room);
    const outsider = await client(t, 'burst_outsider');
    const retried = txn();
    const first = expectStatus(
      await alice.sendRaw(room, { msgtype: 'm.text', body: 'before the burst' }, 'm.room.message', retried),
      200,
    );

    const sends = [alice, ...members].flatMap((who) =>
      Array.from({ length: 10 }, (_, n) =>
        who.sendRaw(room, { msgtype: 'm.text', body: `${who.userId} ${n}` }),
      ),
    );
    const [results, refused, retry] = await Promise.all([
      Promise.all(sends),
      outsider.sendRaw(room, { msgtype: 'm.text', body: 'not a member' }),
      alice.sendRaw(room, { msgtype: 'm.text', body: 'before the burst' }, 'm.room.message', retried),
    ]);
    for (const r of results) expectStatus(r, 200);
    expectRefused(refused, 403, 'M_FORBIDDEN', /not joined/);
    expect(expectStatus(retry, 200).body.event_id).toBe(first.body.event_id);
    expect(new Set(results.map((r) => r.body.event_id)).size).toBe(sends.length);

    // Each answer names the event holding that sender's message, and the events form one chain.
    const rows = await t.sql<{ event_id: string; depth: number; pdu: string }>(
      `SELECT event_id, depth::int AS depth, pdu FROM room_events WHERE room_id = $1 ORDER BY depth`,
      [room],
    );
    const byId = new Map(rows.map((r) => [r.event_id, JSON.parse(r.pdu)]));
    results.forEach((r, i) => {
      const sender = [alice, ...members][Math.floor(i / 10)];
      expect(byId.get(r.body.event_id).content.body).toBe(`${sender.userId} ${i % 10}`);
    });
    rows.slice(1).forEach((row, i) => {
      expect(row.depth).toBe(rows[i].depth + 1);
      expect(byId.get(row.event_id).prev_events).toEqual([rows[i].event_id]);
    });
    expect(rows.filter((r) => byId.get(r.event_id).content.body === 'not a member')).toEqual([]);
    // Written in batches: fewer transactions (xmin) than events.
    const [{ transactions }] = await t.sql<{ transactions: number }>(
      `SELECT count(DISTINCT xmin::text)::int AS transactions FROM room_events WHERE event_id = ANY($1)`,
      [results.map((r) => r.body.event_id)],
    );
    expect(transactions).toBeLessThan(sends.length);
  });

  it('sends into many rooms at once share transactions; a bad room in the burst fails alone', async () => {
    const rooms = await Promise.all(Array.from({ length: 8 }, () => alice.createRoom()));
    const sends = rooms.flatMap((room) =>
      Array.from({ length: 5 }, (_, n) => alice.sendRaw(room, { msgtype: 'm.text', body: `${room} ${n}` })),
    );
    const [results, unknown] = await Promise.all([
      Promise.all(sends),
      alice.sendRaw('!nowhere:test', { msgtype: 'm.text', body: 'lost' }),
    ]);
    expectRefused(unknown, 404, 'M_NOT_FOUND', /not found/i);
    const rows = await t.sql<{ event_id: string; room_id: string; pdu: string; tx: string }>(
      `SELECT event_id, room_id, pdu, xmin::text AS tx FROM room_events WHERE event_id = ANY($1)`,
      [results.map((r) => expectStatus(r, 200).body.event_id)],
    );
    const byId = new Map(rows.map((r) => [r.event_id, r]));
    results.forEach((r, i) => {
      const row = byId.get(r.body.event_id)!;
      expect(row.room_id).toBe(rooms[Math.floor(i / 5)]);
      expect(JSON.parse(row.pdu).content.body).toBe(`${row.room_id} ${i % 5}`);
    });
    // Some transaction wrote events of more than one room.
    const roomsPerTx = new Map<string, Set<string>>();
    for (const r of rows) roomsPerTx.set(r.tx, (roomsPerTx.get(r.tx) ?? new Set()).add(r.room_id));
    expect(Math.max(...[...roomsPerTx.values()].map((set) => set.size))).toBeGreaterThan(1);
  });

  it('returns the same event after the server restarts on the same database', async () => {
    const id = txn();
    const first = expectStatus(
      await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'durable' }, 'm.room.message', id),
      200,
    );
    // Stop this server without dropping its database, and start a new one on it.
    await t.stop();
    t = await TestApp.start({}, env);
    alice = new RoomClient(t, alice.user);
    const again = expectStatus(
      await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'durable' }, 'm.room.message', id),
      200,
    );
    expect(again.body.event_id).toBe(first.body.event_id);
    expect(await countTxn(id)).toBe(1);
  });

  it('refuses senders who are not joined (403 with the reason) and unknown rooms (404)', async () => {
    const bob = await client(t, 'bob');
    const res = await bob.sendRaw(roomId, { msgtype: 'm.text', body: 'x' });
    expectRefused(res, 403, 'M_FORBIDDEN', /not joined/);
    expectMatchesSpec(res, 'room_send.yaml', 'put', SEND);
    expectRefused(await alice.sendRaw('!nowhere:test', { msgtype: 'm.text', body: 'x' }), 404, 'M_NOT_FOUND');
  });

  it('refuses senders below the level the power levels ask for the type', async () => {
    const room = await alice.createRoom({
      preset: 'public_chat',
      power_level_content_override: { events: { 'org.example.loud': 50 } },
    });
    const bob = await client(t, 'bob2');
    await bob.join(room);
    expectRefused(await bob.sendRaw(room, {}, 'org.example.loud'), 403, 'M_FORBIDDEN', /power level/);
    expectStatus(await bob.sendRaw(room, {}, 'org.example.quiet'), 200);
  });
});

/** Room state: PUT and GET, the empty state key with and without its trailing slash, ?format=event. */
describe('room state', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  let roomId: string;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    bob = await client(t, 'bob');
    roomId = await alice.createRoom({ preset: 'public_chat', name: 'Start' });
    await bob.join(roomId);
  });
  afterAll(async () => {
    await t.close();
  });

  it('PUT with the empty key, with a trailing slash (as js-sdk sends it) and without', async () => {
    const slash = await alice.put(`/rooms/${roomId}/state/m.room.name/`, { name: 'Slash' });
    expectMatchesSpec(expectStatus(slash, 200), 'room_state.yaml', 'put', STATE);
    expect((await alice.get(`/rooms/${roomId}/state/m.room.name/`)).body).toEqual({ name: 'Slash' });
    const bare = expectStatus(await alice.put(`/rooms/${roomId}/state/m.room.name`, { name: 'Bare' }), 200);
    const content = await alice.get(`/rooms/${roomId}/state/m.room.name`);
    expectMatchesSpec(expectStatus(content, 200), 'rooms.yaml', 'get', STATE);
    expect(content.body).toEqual({ name: 'Bare' });
    const event = await alice.get(`/rooms/${roomId}/state/m.room.name/?format=event`);
    expectMatchesSpec(expectStatus(event, 200), 'rooms.yaml', 'get', STATE);
    expect(event.body).toMatchObject({
      event_id: bare.body.event_id,
      type: 'm.room.name',
      state_key: '',
      sender: alice.userId,
      content: { name: 'Bare' },
      room_id: roomId,
      unsigned: { prev_content: { name: 'Slash' }, replaces_state: slash.body.event_id },
    });
  });

  it('PUT and GET with a state key, including characters that need encoding', async () => {
    const key = 'a key/with#odd?chars';
    await alice.state(roomId, 'org.example.keyed', { v: 1 }, key);
    expect(
      (await bob.get(`/rooms/${roomId}/state/org.example.keyed/${encodeURIComponent(key)}`)).body,
    ).toEqual({ v: 1 });
    const all = expectStatus(await bob.get(`/rooms/${roomId}/state`), 200);
    expect(all.body.find((e: Event) => e.type === 'org.example.keyed')).toMatchObject({ state_key: key });
  });

  it('GET of missing state is 404', async () => {
    const res = await alice.get(`/rooms/${roomId}/state/m.room.topic/`);
    expectRefused(res, 404, 'M_NOT_FOUND');
    expectMatchesSpec(res, 'rooms.yaml', 'get', STATE);
  });

  it('refuses state below the required level and state keys naming other users', async () => {
    const low = await bob.stateRaw(roomId, 'm.room.name', { name: 'mine now' });
    expectRefused(low, 403, 'M_FORBIDDEN', /power level/);
    expectMatchesSpec(low, 'room_state.yaml', 'put', STATE);
    await alice.state(roomId, 'm.room.power_levels', {
      ...(await alice.get(`/rooms/${roomId}/state/m.room.power_levels/`)).body,
      state_default: 0,
    });
    expectStatus(await bob.stateRaw(roomId, 'org.example.own', { x: 1 }, bob.userId), 200);
    expectRefused(
      await bob.stateRaw(roomId, 'org.example.own', { x: 1 }, alice.userId),
      403,
      'M_FORBIDDEN',
      /other than the sender/,
    );
  });

  it('refuses power level changes beyond the sender', async () => {
    const pl = (await alice.get(`/rooms/${roomId}/state/m.room.power_levels/`)).body;
    await alice.state(roomId, 'm.room.power_levels', {
      ...pl,
      users: { ...pl.users, [bob.userId]: 50 },
      events: { ...pl.events, 'm.room.power_levels': 50 },
    });
    const current = (await alice.get(`/rooms/${roomId}/state/m.room.power_levels/`)).body;
    expectRefused(
      await bob.stateRaw(roomId, 'm.room.power_levels', {
        ...current,
        users: { ...current.users, [bob.userId]: 100 },
      }),
      403,
      'M_FORBIDDEN',
      /above your own/,
    );
    expectRefused(
      await bob.stateRaw(roomId, 'm.room.power_levels', {
        ...current,
        users: { ...current.users, [alice.userId]: 0 },
      }),
      403,
      'M_FORBIDDEN',
      /not below yours/,
    );
    expectRefused(
      await bob.stateRaw(roomId, 'm.room.power_levels', { ...current, kick: 1.5 }),
      400,
      'M_BAD_JSON',
    );
  });

  it('refuses member events whose state key is not a user ID', async () => {
    expectRefused(
      await alice.stateRaw(roomId, 'm.room.member', { membership: 'join' }, 'nobody'),
      400,
      'M_BAD_JSON',
    );
    expectRefused(await alice.stateRaw(roomId, 'm.room.member', {}, alice.userId), 400, 'M_BAD_JSON');
  });

  it('GET /state and /event are refused to users never in the room', async () => {
    const eve = await client(t, 'eve');
    const res = await eve.get(`/rooms/${roomId}/state`);
    expectRefused(res, 403, 'M_FORBIDDEN');
    expectMatchesSpec(res, 'rooms.yaml', 'get', '/rooms/{roomId}/state');
    expectRefused(await eve.get(`/rooms/${roomId}/state/m.room.name/`), 403, 'M_FORBIDDEN');
    const eventId = await alice.send(roomId, 'private');
    expectRefused(await eve.get(`/rooms/${roomId}/event/${eventId}`), 404, 'M_NOT_FOUND');
  });

  it('GET /event: unknown events, and events of another room, are 404', async () => {
    const eventId = await alice.send(roomId, 'here');
    const other = await alice.createRoom();
    expectRefused(await alice.get(`/rooms/${other}/event/${eventId}`), 404, 'M_NOT_FOUND');
    expectRefused(await alice.get(`/rooms/${roomId}/event/$nothing`), 404, 'M_NOT_FOUND');
  });
});

/** GET /messages: directions, limits, tokens, the end of history, filters. */
describe('messages', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  let roomId: string;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    bob = await client(t, 'bob');
    roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    for (let i = 0; i < 12; i++) await (i % 3 === 2 ? bob : alice).send(roomId, `m${i}`);
  });
  afterAll(async () => {
    await t.close();
  });

  it('pages backwards from the newest event and omits end at the start of the room', async () => {
    const first = expectStatus(await bob.messages(roomId, { dir: 'b', limit: 5 }), 200);
    expectMatchesSpec(first, 'message_pagination.yaml', 'get', MESSAGES);
    expect(bodies(first.body.chunk)).toEqual(['m11', 'm10', 'm9', 'm8', 'm7']);
    expect(first.body.end).toBeDefined();
    const seen: Event[] = [...first.body.chunk];
    let from = first.body.end;
    for (let i = 0; i < 20 && from; i++) {
      const page = expectStatus(await bob.messages(roomId, { dir: 'b', limit: 5, from }), 200);
      expectMatchesSpec(page, 'message_pagination.yaml', 'get', MESSAGES);
      expect(page.body.start).toBe(from);
      seen.push(...page.body.chunk);
      from = page.body.end;
    }
    expect(from).toBeUndefined();
    expect(seen[seen.length - 1].type).toBe('m.room.create');
    expect(new Set(seen.map((e) => e.event_id)).size).toBe(seen.length);
    expect(bodies(seen)).toEqual(['m11', 'm10', 'm9', 'm8', 'm7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
  });

  it('answers /context with the events around one, tokens to page on from both sides, and the state', async () => {
    const all = expectStatus(await bob.messages(roomId, { dir: 'f', limit: 100 }), 200).body.chunk as Event[];
    const m5 = all.find((e) => e.content.body === 'm5')!;
    const path = `/rooms/${encodeURIComponent(roomId)}/context/${encodeURIComponent(m5.event_id)}`;
    const res = expectStatus(await bob.get(`${path}?limit=4`), 200);
    expectMatchesSpec(res, 'event_context.yaml', 'get', '/rooms/{roomId}/context/{eventId}');
    expect(res.body.event.event_id).toBe(m5.event_id);
    expect(bodies(res.body.events_before)).toEqual(['m4', 'm3']);
    expect(bodies(res.body.events_after)).toEqual(['m6', 'm7']);
    expect(res.body.state.map((e: Event) => e.type)).toEqual(
      expect.arrayContaining(['m.room.create', 'm.room.member']),
    );
    // Paging on from either end continues where the context stopped.
    const older = expectStatus(await bob.messages(roomId, { dir: 'b', limit: 2, from: res.body.start }), 200);
    expect(bodies(older.body.chunk)).toEqual(['m2', 'm1']);
    const newer = expectStatus(await bob.messages(roomId, { dir: 'f', limit: 2, from: res.body.end }), 200);
    expect(bodies(newer.body.chunk)).toEqual(['m8', 'm9']);

    // The filter applies to the events around it and to the state, not to the event itself.
    const onlyMessages = encodeURIComponent(JSON.stringify({ types: ['m.room.message'] }));
    const filtered = expectStatus(await bob.get(`${path}?limit=2&filter=${onlyMessages}`), 200).body;
    expect([bodies(filtered.events_before), bodies(filtered.events_after)]).toEqual([['m4'], ['m6']]);
    expect(filtered.state).toEqual([]);
    // Lazy loading: member state only for the senders shown.
    const lazyFilter = encodeURIComponent(JSON.stringify({ lazy_load_members: true }));
    const lazy = expectStatus(await bob.get(`${path}?limit=2&filter=${lazyFilter}`), 200).body;
    const senders = new Set(
      [lazy.event, ...lazy.events_before, ...lazy.events_after].map((e: Event) => e.sender),
    );
    const members = lazy.state
      .filter((e: Event) => e.type === 'm.room.member')
      .map((e: Event) => e.state_key);
    expect(new Set(members)).toEqual(senders);
    // limit=0: the event alone.
    const alone = expectStatus(await bob.get(`${path}?limit=0`), 200).body;
    expect([alone.event.event_id, alone.events_before, alone.events_after]).toEqual([m5.event_id, [], []]);

    // Refusals.
    const other = await alice.createRoom({ preset: 'private_chat' });
    const hidden = await alice.send(other, 'private');
    const errors = [
      [await bob.get(`/rooms/${encodeURIComponent(roomId)}/context/${encodeURIComponent('$unknown')}`), 404],
      [await bob.get(`/rooms/${encodeURIComponent(roomId)}/context/${encodeURIComponent(hidden)}`), 404],
      [await bob.get(`/rooms/${encodeURIComponent(other)}/context/${encodeURIComponent(hidden)}`), 404],
      [await bob.get(`${path}?limit=-1`), 400],
      [await bob.get(`${path}?filter=notjson`), 400],
    ] as const;
    expect(errors.map(([r, status]) => [r.status, typeof r.body.errcode, status])).toEqual(
      errors.map(([, status]) => [status, 'string', status]),
    );
  });

  it('pages forwards from the start', async () => {
    const first = expectStatus(await bob.messages(roomId, { dir: 'f', limit: 3 }), 200);
    expect(first.body.chunk.map((e: Event) => e.type)).toEqual([
      'm.room.create',
      'm.room.member',
      'm.room.power_levels',
    ]);
    const all: Event[] = [...first.body.chunk];
    let from = first.body.end;
    while (from) {
      const page = expectStatus(await bob.messages(roomId, { dir: 'f', limit: 4, from }), 200);
      all.push(...page.body.chunk);
      from = page.body.end;
    }
    expect(bodies(all)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
  });

  it('continues from a sync token in both directions, and stops at `to`', async () => {
    const sync = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) });
    const room = sync.rooms.join[roomId];
    expect(room.timeline.limited).toBe(true);
    const back = expectStatus(
      await bob.messages(roomId, { dir: 'b', limit: 2, from: room.timeline.prev_batch }),
      200,
    );
    expect(bodies(back.body.chunk)).toEqual(['m10', 'm9']);
    const between = expectStatus(
      await bob.messages(roomId, { dir: 'b', from: back.body.start, to: back.body.end }),
      200,
    );
    expect(bodies(between.body.chunk)).toEqual(['m10', 'm9']);
    await alice.send(roomId, 'after sync');
    const forward = expectStatus(await bob.messages(roomId, { dir: 'f', from: sync.next_batch }), 200);
    expect(bodies(forward.body.chunk)).toEqual(['after sync']);
  });

  it('filters by types and senders, and counts only matching events towards the limit', async () => {
    const filter = JSON.stringify({ senders: [bob.userId], types: ['m.room.message'] });
    const res = expectStatus(await alice.messages(roomId, { dir: 'b', limit: 3, filter }), 200);
    expect(bodies(res.body.chunk)).toEqual(['m11', 'm8', 'm5']);
    const notBob = JSON.stringify({ not_senders: [bob.userId], not_types: ['m.room.member'] });
    const res2 = expectStatus(await alice.messages(roomId, { dir: 'f', limit: 4, filter: notBob }), 200);
    expect(res2.body.chunk.map((e: Event) => e.type)).toEqual([
      'm.room.create',
      'm.room.power_levels',
      'm.room.join_rules',
      'm.room.history_visibility',
    ]);
    const wildcard = JSON.stringify({ types: ['m.room.c*'] });
    const res3 = expectStatus(await alice.messages(roomId, { dir: 'f', filter: wildcard }), 200);
    expect(res3.body.chunk.map((e: Event) => e.type)).toEqual(['m.room.create']);
  });

  it('answers a many-star type filter over a long event type promptly (no regex backtracking)', async () => {
    // A room of its own so the other tests' pages stay as they are.
    const room = await alice.createRoom({ preset: 'public_chat' });
    const longType = 'a'.repeat(200);
    const eventId = await alice.send(room, 'long type', longType);
    const typesFilter = (pattern: string) => JSON.stringify({ types: [pattern] });
    const none = expectStatus(
      await alice.messages(room, { dir: 'b', filter: typesFilter('a*a*a*a*a*a*a*b') }),
      200,
    );
    expect(none.body.chunk).toEqual([]);
    const some = expectStatus(await alice.messages(room, { dir: 'b', filter: typesFilter('a*') }), 200);
    expect(some.body.chunk.map((e: Event) => e.event_id)).toEqual([eventId]);
  });

  it('with lazy_load_members, adds the member events of the senders as state', async () => {
    const filter = JSON.stringify({ lazy_load_members: true, types: ['m.room.message'] });
    const res = expectStatus(await alice.messages(roomId, { dir: 'b', limit: 2, filter }), 200);
    expectMatchesSpec(res, 'message_pagination.yaml', 'get', MESSAGES);
    expect(res.body.state.map((e: Event) => e.state_key).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(res.body.state.every((e: Event) => e.type === 'm.room.member')).toBe(true);
  });

  it('refuses bad tokens, directions, limits and filters with 400', async () => {
    expectRefused(await alice.messages(roomId, { from: 'garbage' }), 400, 'M_INVALID_PARAM');
    expectRefused(await alice.messages(roomId, { from: 's12x' }), 400, 'M_INVALID_PARAM');
    expectRefused(await alice.messages(roomId, { to: 'nope' }), 400, 'M_INVALID_PARAM');
    expectRefused(await alice.messages(roomId, { dir: 'up' }), 400, 'M_BAD_JSON');
    expectRefused(await alice.messages(roomId, { limit: 'many' }), 400, 'M_BAD_JSON');
    expectRefused(await alice.messages(roomId, { limit: -1 }), 400, 'M_BAD_JSON');
    expectRefused(await alice.messages(roomId, { filter: '{not json' }), 400, 'M_INVALID_PARAM');
    expectRefused(await alice.messages(roomId, { filter: '[]' }), 400, 'M_INVALID_PARAM');
    expectRefused(
      await alice.messages(roomId, { filter: JSON.stringify({ types: 'm.room.message' }) }),
      400,
      'M_INVALID_PARAM',
    );
    expectRefused(
      await alice.messages(roomId, { filter: JSON.stringify({ limit: 'x' }) }),
      400,
      'M_INVALID_PARAM',
    );
  });

  it('is refused to users never in the room', async () => {
    const eve = await client(t, 'eve');
    const res = await eve.messages(roomId);
    expectRefused(res, 403, 'M_FORBIDDEN');
    expectMatchesSpec(res, 'message_pagination.yaml', 'get', MESSAGES);
  });
});

/** Redactions: one's own, others' with the redact level, not without. */
describe('redaction', () => {
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

  for (const version of ['10', '11']) {
    it(`v${version}: redacts one's own event; the event keeps its ID and loses its content`, async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat', room_version: version });
      await bob.join(roomId);
      const eventId = await bob.send(roomId, 'oops');
      const res = await bob.put(`/rooms/${roomId}/redact/${eventId}/${txn()}`, { reason: 'typo' });
      expectMatchesSpec(
        expectStatus(res, 200),
        'redaction.yaml',
        'put',
        '/rooms/{roomId}/redact/{eventId}/{txnId}',
      );
      const redacted = expectStatus(await alice.get(`/rooms/${roomId}/event/${eventId}`), 200);
      expectMatchesSpec(redacted, 'rooms.yaml', 'get', '/rooms/{roomId}/event/{eventId}');
      expect(redacted.body.content).toEqual({});
      expect(redacted.body.unsigned.redacted_because).toMatchObject({
        event_id: res.body.event_id,
        type: 'm.room.redaction',
        sender: bob.userId,
        redacts: eventId,
        content: version === '11' ? { reason: 'typo', redacts: eventId } : { reason: 'typo' },
      });
      const redaction = expectStatus(await alice.get(`/rooms/${roomId}/event/${res.body.event_id}`), 200);
      expect(redaction.body.redacts).toBe(eventId);
      // The stored PDU is the redacted form, still carrying its hashes and signatures.
      const [row] = await t.sql<{ pdu: string }>(`SELECT pdu FROM room_events WHERE event_id = $1`, [
        eventId,
      ]);
      const pdu = JSON.parse(row.pdu);
      expect(pdu.content).toEqual({});
      expect(pdu.hashes.sha256).toBeDefined();
      expect(Object.keys(pdu.signatures)).toEqual(['test']);
    });
  }

  it("refuses redacting others' events without the redact level; allows it with", async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const alices = await alice.send(roomId, 'mine');
    const res = await bob.put(`/rooms/${roomId}/redact/${alices}/${txn()}`);
    expectRefused(res, 403, 'M_FORBIDDEN', /redact/);
    const bobs = await bob.send(roomId, 'rude');
    expectStatus(await alice.put(`/rooms/${roomId}/redact/${bobs}/${txn()}`, { reason: 'moderated' }), 200);
    expect((await bob.get(`/rooms/${roomId}/event/${bobs}`)).body.content).toEqual({});
  });

  it('redacting twice, or with a retried transaction, is harmless', async () => {
    const roomId = await alice.createRoom();
    const eventId = await alice.send(roomId, 'x');
    const id = txn();
    const first = expectStatus(await alice.put(`/rooms/${roomId}/redact/${eventId}/${id}`), 200);
    const retry = expectStatus(await alice.put(`/rooms/${roomId}/redact/${eventId}/${id}`), 200);
    expect(retry.body.event_id).toBe(first.body.event_id);
    expectStatus(await alice.put(`/rooms/${roomId}/redact/${eventId}/${txn()}`), 200);
    const [row] = await t.sql<{ redacted_by: string }>(
      `SELECT redacted_by FROM room_events WHERE event_id = $1`,
      [eventId],
    );
    expect(row.redacted_by).toBe(first.body.event_id);
  });

  it('redacted state stays redacted in the prev_content of the state that replaced it', async () => {
    const roomId = await alice.createRoom();
    const secret = await alice.state(roomId, 'm.room.topic', { topic: 'secret plans' });
    await alice.state(roomId, 'm.room.topic', { topic: 'nothing to see' });
    expectStatus(await alice.put(`/rooms/${roomId}/redact/${secret}/${txn()}`), 200);
    const current = expectStatus(await alice.get(`/rooms/${roomId}/state/m.room.topic/?format=event`), 200);
    expect(current.body.unsigned).toMatchObject({ replaces_state: secret, prev_content: {} });
    const history = expectStatus(await alice.messages(roomId, { dir: 'b', limit: 3 }), 200);
    expect(JSON.stringify(history.body)).not.toContain('secret plans');
  });

  it('a redacted member event takes its display name out of the member list', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(roomId);
    const named = await bob.state(
      roomId,
      'm.room.member',
      { membership: 'join', displayname: 'Rude name' },
      bob.userId,
    );
    expectStatus(await alice.put(`/rooms/${roomId}/redact/${named}/${txn()}`), 200);
    const joined = expectStatus(await alice.get(`/rooms/${roomId}/joined_members`), 200);
    expect(joined.body.joined[bob.userId]).toEqual({});
    expect((await alice.get(`/rooms/${roomId}/state/m.room.member/${bob.userId}`)).body).toEqual({
      membership: 'join',
    });
  });

  it('unknown events and events of other rooms are 404; sending m.room.redaction directly is refused', async () => {
    const roomId = await alice.createRoom();
    const other = await alice.createRoom();
    const eventId = await alice.send(other, 'elsewhere');
    expectRefused(await alice.put(`/rooms/${roomId}/redact/$nothing/${txn()}`), 404, 'M_NOT_FOUND');
    expectRefused(await alice.put(`/rooms/${roomId}/redact/${eventId}/${txn()}`), 404, 'M_NOT_FOUND');
    expectRefused(await alice.sendRaw(roomId, { redacts: eventId }, 'm.room.redaction'), 400, 'M_BAD_JSON');
  });
});

/** History visibility: who may read what, and until when. */
describe('history visibility', () => {
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

  const history = async (c: RoomClient, roomId: string) =>
    bodies(expectStatus(await c.messages(roomId, { dir: 'f', limit: 100 }), 200).body.chunk);

  it('shared: members see history from before they joined; after leaving, only up to their leave', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await alice.send(roomId, 'before bob');
    await bob.join(roomId);
    await alice.send(roomId, 'with bob');
    expect(await history(bob, roomId)).toEqual(['before bob', 'with bob']);
    await bob.leave(roomId);
    await alice.send(roomId, 'after bob');
    await alice.state(roomId, 'm.room.topic', { topic: 'changed after bob left' });
    expect(await history(bob, roomId)).toEqual(['before bob', 'with bob']);
    const back = expectStatus(await bob.messages(roomId, { dir: 'b', limit: 100 }), 200);
    expect(bodies(back.body.chunk)).toEqual(['with bob', 'before bob']);
    // State as it was when bob left.
    const state = expectStatus(await bob.get(`/rooms/${roomId}/state`), 200).body;
    expect(state.find((e: Event) => e.type === 'm.room.topic')).toBeUndefined();
    expectRefused(await bob.get(`/rooms/${roomId}/state/m.room.topic/`), 404, 'M_NOT_FOUND');
    expect((await alice.get(`/rooms/${roomId}/state/m.room.topic/`)).status).toBe(200);
    // ...and the events after the leave are not his to fetch.
    const after = (await alice.messages(roomId, { dir: 'b', limit: 1 })).body.chunk[0].event_id;
    expectRefused(await bob.get(`/rooms/${roomId}/event/${after}`), 404, 'M_NOT_FOUND');
  });

  it('joined: members see only what was sent while they were joined', async () => {
    const roomId = await alice.createRoom({
      preset: 'public_chat',
      initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }],
    });
    await alice.send(roomId, 'before bob');
    await bob.join(roomId);
    await alice.send(roomId, 'with bob');
    expect(await history(bob, roomId)).toEqual(['with bob']);
    expect(await history(alice, roomId)).toEqual(['before bob', 'with bob']);
    const sync = await bob.sync();
    expect(bodies(sync.rooms.join[roomId].timeline.events)).toEqual(['with bob']);
  });

  it('invited: invitees see from their invite on', async () => {
    const roomId = await alice.createRoom({
      initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'invited' } }],
    });
    await alice.send(roomId, 'before invite');
    await alice.invite(roomId, bob.userId);
    await alice.send(roomId, 'after invite');
    await bob.join(roomId);
    expect(await history(bob, roomId)).toEqual(['after invite']);
  });

  it('world_readable: anyone may read history and state', async () => {
    const roomId = await alice.createRoom({
      preset: 'public_chat',
      initial_state: [
        { type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } },
      ],
    });
    await alice.send(roomId, 'for everyone');
    const eve = await client(t, 'eve');
    expect(await history(eve, roomId)).toEqual(['for everyone']);
    expectStatus(await eve.get(`/rooms/${roomId}/state`), 200);
  });

  it('users never in the room get 403 on /messages and /state', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await alice.send(roomId, 'secret');
    const eve = await client(t, 'eve2');
    expectRefused(await eve.messages(roomId), 403, 'M_FORBIDDEN');
    expectRefused(await eve.get(`/rooms/${roomId}/state`), 403, 'M_FORBIDDEN');
    // Being invited is not being joined: the invitee may not read current state yet.
    await alice.invite(roomId, eve.userId);
    expectRefused(await eve.get(`/rooms/${roomId}/state`), 403, 'M_FORBIDDEN');
  });
});
