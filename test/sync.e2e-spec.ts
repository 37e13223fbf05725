import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { CS, RoomClient, bodies, client, expectStatus, txn } from './helpers/room-client.js';
import { TestApp, dropTestState } from './helpers/test-app.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function expectRefused(res: { status: number; body: { errcode?: string } }, status: number, errcode: string) {
  expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status, errcode });
}

/** A /sync answer checked against the spec. */
async function sync(c: RoomClient, query: Record<string, string | number | boolean> = {}): Promise<Any> {
  const res = expectStatus(await c.syncRaw(query), 200);
  expectMatchesSpec(res, 'sync.yaml', 'get', '/sync');
  return res.body;
}

const inline = (filter: object) => JSON.stringify(filter);
const types = (events: { type: string }[]) => events.map((e) => e.type);

describe('/sync', () => {
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

  describe('initial and incremental', () => {
    let roomId: string;
    let since: string;

    it('initial sync: the joined room with its state at the timeline start, summary and counts', async () => {
      roomId = await alice.createRoom({ preset: 'public_chat', name: 'Sync room' });
      await bob.join(roomId);
      await alice.send(roomId, 'one');
      const body = await sync(bob);
      since = body.next_batch;
      const room = body.rooms.join[roomId];
      expect(room.timeline.limited).toBe(false);
      expect(types(room.timeline.events)).toEqual([
        'm.room.create',
        'm.room.member',
        'm.room.power_levels',
        'm.room.join_rules',
        'm.room.history_visibility',
        'm.room.guest_access',
        'm.room.name',
        'm.room.member',
        'm.room.message',
      ]);
      expect(room.state.events).toEqual([]);
      expect(room.timeline.events.every((e: Any) => e.room_id === undefined)).toBe(true);
      expect(room.summary).toEqual({
        'm.heroes': [alice.userId],
        'm.joined_member_count': 2,
        'm.invited_member_count': 0,
      });
      expect(room.unread_notifications).toEqual({ highlight_count: 0, notification_count: 1 });
    });

    it('initial sync with a small timeline: limited, prev_batch, and the state before the timeline', async () => {
      const body = await sync(bob, { filter: inline({ room: { timeline: { limit: 2 } } }) });
      const room = body.rooms.join[roomId];
      expect(room.timeline.limited).toBe(true);
      expect(types(room.timeline.events)).toEqual(['m.room.member', 'm.room.message']);
      expect(types(room.state.events).sort()).toEqual(
        [
          'm.room.create',
          'm.room.member',
          'm.room.power_levels',
          'm.room.join_rules',
          'm.room.history_visibility',
          'm.room.guest_access',
          'm.room.name',
        ].sort(),
      );
      const back = expectStatus(
        await bob.messages(roomId, { dir: 'b', from: room.timeline.prev_batch, limit: 1 }),
        200,
      );
      expect(types(back.body.chunk)).toEqual(['m.room.name']);
    });

    it('incremental sync: only what happened since, no state unless limited', async () => {
      await alice.send(roomId, 'two');
      await alice.state(roomId, 'm.room.topic', { topic: 'news' });
      const body = await sync(bob, { since });
      const room = body.rooms.join[roomId];
      expect(types(room.timeline.events)).toEqual(['m.room.message', 'm.room.topic']);
      expect(room.timeline.limited).toBe(false);
      expect(room.state.events).toEqual([]);
      since = body.next_batch;
      const empty = await sync(bob, { since });
      expect(empty.rooms.join[roomId]).toBeUndefined();
      expect(empty.next_batch).toBe(since);
    });

    it('incremental sync with a gap: limited, and the state changes in the gap', async () => {
      await alice.state(roomId, 'm.room.topic', { topic: 'in the gap' });
      for (let i = 0; i < 3; i++) await alice.send(roomId, `gap ${i}`);
      const body = await sync(bob, { since, filter: inline({ room: { timeline: { limit: 2 } } }) });
      const room = body.rooms.join[roomId];
      expect(room.timeline.limited).toBe(true);
      expect(bodies(room.timeline.events)).toEqual(['gap 1', 'gap 2']);
      expect(room.state.events.map((e: Any) => e.content)).toEqual([{ topic: 'in the gap' }]);
      const back = expectStatus(
        await bob.messages(roomId, { dir: 'b', from: room.timeline.prev_batch, limit: 1 }),
        200,
      );
      expect(bodies(back.body.chunk)).toEqual(['gap 0']);
      since = body.next_batch;
    });

    it('full_state: the whole state, but the timeline still only since the token', async () => {
      await alice.send(roomId, 'after full');
      const body = await sync(bob, { since, full_state: true });
      const room = body.rooms.join[roomId];
      expect(bodies(room.timeline.events)).toEqual(['after full']);
      expect(room.timeline.limited).toBe(false);
      expect(types(room.state.events)).toEqual(
        expect.arrayContaining(['m.room.create', 'm.room.name', 'm.room.topic']),
      );
      // Rooms without news are included too.
      const other = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(other);
      const later = await sync(bob, { since: body.next_batch, full_state: true });
      expect(later.rooms.join[roomId].timeline.events).toEqual([]);
      expect(later.rooms.join[roomId].state.events.length).toBeGreaterThan(5);
      since = later.next_batch;
    });

    it('a profile change does not make a room look newly joined', async () => {
      await sync(bob, { since });
      const before = await sync(bob, { since });
      expectStatus(await bob.put(`/profile/${bob.userId}/displayname`, { displayname: 'Bobby' }), 200);
      const body = await sync(bob, { since: before.next_batch });
      const room = body.rooms.join[roomId];
      expect(types(room.timeline.events)).toEqual(['m.room.member']);
      expect(room.timeline.limited).toBe(false);
      expect(room.state.events).toEqual([]);
      since = body.next_batch;
    });

    it('refuses malformed and unknown since tokens', async () => {
      expectRefused(await bob.syncRaw({ since: 'garbage' }), 400, 'M_INVALID_PARAM');
      expectRefused(await bob.syncRaw({ since: 's99999999' }), 400, 'M_INVALID_PARAM');
      expectRefused(await bob.syncRaw({ timeout: 'soon' }), 400, 'M_BAD_JSON');
      expectRefused(await bob.syncRaw({ full_state: 'yes' }), 400, 'M_BAD_JSON');
      expectRefused(await t.http.get(`${CS}/sync`), 401, 'M_MISSING_TOKEN');
    });
  });

  describe('long-poll', () => {
    it('wakes up when a message arrives, long before the timeout', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const { next_batch: since } = await sync(bob);
      const started = Date.now();
      const waiting = bob.syncRaw({ since, timeout: 25_000 });
      // Give the request time to reach the server and start waiting (the outcome does not depend on it).
      await new Promise((r) => setTimeout(r, 100));
      await alice.send(roomId, 'wake up');
      const res = expectStatus(await waiting, 200);
      console.log(`long-poll answered ${Date.now() - started} ms after it started (100 ms before the send)`);
      expect(bodies(res.body.rooms.join[roomId].timeline.events)).toEqual(['wake up']);
    }, 20_000);

    it('wakes up for an invite, and for account data', async () => {
      const { next_batch: since } = await sync(bob);
      const waiting = bob.syncRaw({ since, timeout: 25_000 });
      await new Promise((r) => setTimeout(r, 100));
      const roomId = await alice.createRoom({ invite: [bob.userId] });
      const res = expectStatus(await waiting, 200);
      expect(Object.keys(res.body.rooms.invite)).toEqual([roomId]);

      const waiting2 = bob.syncRaw({ since: res.body.next_batch, timeout: 25_000 });
      await new Promise((r) => setTimeout(r, 100));
      expectStatus(await bob.put(`/user/${bob.userId}/account_data/org.example.wake`, { a: 1 }), 200);
      const res2 = expectStatus(await waiting2, 200);
      expect(res2.body.account_data.events).toEqual([{ type: 'org.example.wake', content: { a: 1 } }]);
    }, 20_000);

    it('answers an empty sync with the same token when nothing happens', async () => {
      const { next_batch: since } = await sync(bob);
      const body = await sync(bob, { since, timeout: 200 });
      expect(body.next_batch).toBe(since);
      expect(body.rooms.join).toEqual({});
    });
  });

  describe('filters', () => {
    it('POST and GET a filter; unknown filters are 404; other users are 403', async () => {
      const definition = { room: { timeline: { limit: 3, types: ['m.room.message'] } } };
      const created = await bob.post(`/user/${bob.userId}/filter`, definition);
      expectMatchesSpec(expectStatus(created, 200), 'filter.yaml', 'post', '/user/{userId}/filter');
      expect(created.body.filter_id).not.toMatch(/^\{/);
      const got = await bob.get(`/user/${bob.userId}/filter/${created.body.filter_id}`);
      expectMatchesSpec(expectStatus(got, 200), 'filter.yaml', 'get', '/user/{userId}/filter/{filterId}');
      expect(got.body).toEqual(definition);
      const missing = await bob.get(`/user/${bob.userId}/filter/999999`);
      expectRefused(missing, 404, 'M_NOT_FOUND');
      expectMatchesSpec(missing, 'filter.yaml', 'get', '/user/{userId}/filter/{filterId}');
      expectRefused(await bob.get(`/user/${bob.userId}/filter/not-a-filter`), 404, 'M_NOT_FOUND');
      expectRefused(
        await alice.get(`/user/${bob.userId}/filter/${created.body.filter_id}`),
        403,
        'M_FORBIDDEN',
      );
      expectRefused(await alice.post(`/user/${bob.userId}/filter`, {}), 403, 'M_FORBIDDEN');
    });

    it('refuses malformed filters', async () => {
      for (const bad of [
        { room: [] },
        { room: { timeline: { limit: -1 } } },
        { room: { timeline: { limit: 1.5 } } },
        { room: { timeline: { types: 'm.room.message' } } },
        { room: { rooms: [5] } },
        { room: { include_leave: 'yes' } },
        { room: { state: { lazy_load_members: 'yes' } } },
        { event_fields: 'x' },
        { account_data: [] },
      ]) {
        expectRefused(await bob.post(`/user/${bob.userId}/filter`, bad), 400, 'M_BAD_JSON');
        expectRefused(await bob.syncRaw({ filter: inline(bad) }), 400, 'M_BAD_JSON');
      }
      expectRefused(await bob.syncRaw({ filter: '{not json' }), 400, 'M_NOT_JSON');
      expectRefused(await bob.syncRaw({ filter: '424242' }), 404, 'M_NOT_FOUND');
    });

    it('applies a stored filter by ID and an inline one, timeline types and room lists', async () => {
      const r1 = await alice.createRoom({ preset: 'public_chat' });
      const r2 = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(r1);
      await bob.join(r2);
      await alice.send(r1, 'in r1');
      await alice.send(r2, 'in r2');
      const { filter_id: id } = (
        await bob.post(`/user/${bob.userId}/filter`, {
          room: { rooms: [r1], timeline: { types: ['m.room.message'] } },
        })
      ).body;
      const byId = await sync(bob, { filter: id });
      expect(Object.keys(byId.rooms.join)).toEqual([r1]);
      expect(bodies(byId.rooms.join[r1].timeline.events)).toEqual(['in r1']);
      expect(types(byId.rooms.join[r1].timeline.events)).toEqual(['m.room.message']);

      const notR1 = await sync(bob, {
        filter: inline({ room: { not_rooms: [r1], state: { lazy_load_members: true } } }),
      });
      expect(Object.keys(notR1.rooms.join)).toContain(r2);
      expect(Object.keys(notR1.rooms.join)).not.toContain(r1);
    });

    it('lazy_load_members keeps only the members the timeline and the summary need in the state', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      const others = await Promise.all(Array.from({ length: 6 }, (_, i) => client(t, `lazy${i}`)));
      for (const o of others) await o.join(roomId);
      await bob.join(roomId);
      for (let i = 0; i < 3; i++) await alice.send(roomId, `lazy ${i}`);
      const lazy = inline({
        room: { rooms: [roomId], timeline: { limit: 2 }, state: { lazy_load_members: true } },
      });
      const body = await sync(bob, { filter: lazy });
      const room = body.rooms.join[roomId];
      const members = room.state.events
        .filter((e: Any) => e.type === 'm.room.member')
        .map((e: Any) => e.state_key)
        .sort();
      // The sender, the user, and the heroes that name the room (the spec's MUST); nobody else.
      const heroes: string[] = room.summary['m.heroes'];
      expect(heroes.length).toBe(5);
      expect(members).toEqual([...new Set([alice.userId, bob.userId, ...heroes])].sort());
      expect(members.length).toBeLessThan(8);
    });

    it('lazy_load_members: a gap brings all its member events, a new sender its own', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      const [carol, dave, erin] = await Promise.all(['lzc', 'lzd', 'lze'].map((n) => client(t, n)));
      for (const c of [bob, carol, erin]) await c.join(roomId);
      const lazy = inline({
        room: { rooms: [roomId], timeline: { limit: 2 }, state: { lazy_load_members: true } },
      });
      const memberKeys = (r: Any) =>
        r.state.events.filter((e: Any) => e.type === 'm.room.member').map((e: Any) => e.state_key);

      // Not limited: erin has sent nothing the client saw; her member event comes with her message.
      await alice.send(roomId, 'before');
      let since = (await sync(bob, { filter: lazy })).next_batch;
      await erin.send(roomId, 'erin speaks');
      const quiet = (await sync(bob, { filter: lazy, since })).rooms.join[roomId];
      expect(quiet.timeline.limited).toBe(false);
      expect(memberKeys(quiet)).toEqual([erin.userId]);

      // Limited: dave's join is in the gap, not in the timeline, yet its member event comes.
      since = (await sync(bob, { filter: lazy })).next_batch;
      await dave.join(roomId);
      for (let i = 0; i < 3; i++) await carol.send(roomId, `carol ${i}`);
      const gap = (await sync(bob, { filter: lazy, since })).rooms.join[roomId];
      expect(gap.timeline.limited).toBe(true);
      expect(memberKeys(gap)).toEqual(expect.arrayContaining([dave.userId, carol.userId]));
    });
  });

  describe('invites and leaving', () => {
    it('shows an invite with invite_state holding the create event and the invite itself', async () => {
      const { next_batch: since } = await sync(bob);
      const roomId = await alice.createRoom({ name: 'Invitation', topic: 'come in' });
      await alice.invite(roomId, bob.userId);
      const body = await sync(bob, { since });
      const invite = body.rooms.invite[roomId];
      const events = invite.invite_state.events;
      expect(types(events)).toEqual(
        expect.arrayContaining(['m.room.create', 'm.room.name', 'm.room.join_rules', 'm.room.member']),
      );
      expect(events.find((e: Any) => e.type === 'm.room.member' && e.state_key === bob.userId)).toEqual({
        type: 'm.room.member',
        state_key: bob.userId,
        sender: alice.userId,
        content: { membership: 'invite' },
      });
      expect(events.find((e: Any) => e.type === 'm.room.create').content.room_version).toBe('10');
      expect(body.rooms.join[roomId]).toBeUndefined();
      // The initial sync shows it too; after joining it is a joined room.
      expect((await sync(bob)).rooms.invite[roomId]).toBeDefined();
      await bob.join(roomId);
      const joined = await sync(bob, { since: body.next_batch });
      expect(joined.rooms.invite[roomId]).toBeUndefined();
      const room = joined.rooms.join[roomId];
      expect(types([...room.state.events, ...room.timeline.events])).toContain('m.room.create');
    });

    it('moves left, kicked and banned rooms to leave, with the timeline up to the leave', async () => {
      const rooms = await Promise.all([1, 2, 3].map(() => alice.createRoom({ preset: 'public_chat' })));
      for (const r of rooms) await bob.join(r);
      const { next_batch: since } = await sync(bob);
      await bob.leave(rooms[0]);
      expectStatus(await alice.post(`/rooms/${rooms[1]}/kick`, { user_id: bob.userId }), 200);
      expectStatus(await alice.post(`/rooms/${rooms[2]}/ban`, { user_id: bob.userId }), 200);
      for (const r of rooms) await alice.send(r, 'after bob');
      const body = await sync(bob, { since });
      for (const r of rooms) {
        expect(body.rooms.join[r]).toBeUndefined();
        const left = body.rooms.leave[r];
        expect(types(left.timeline.events)).toEqual(['m.room.member']);
        expect(bodies(left.timeline.events)).toEqual([]);
      }
      expect(body.rooms.leave[rooms[2]].timeline.events[0].content.membership).toBe('ban');
      // Nothing more about them afterwards.
      const later = await sync(bob, { since: body.next_batch });
      expect(later.rooms.leave).toEqual({});
      // An initial sync shows left rooms only when asked to.
      expect((await sync(bob)).rooms.leave[rooms[0]]).toBeUndefined();
      const withLeave = await sync(bob, { filter: inline({ room: { include_leave: true } }) });
      const left = withLeave.rooms.leave[rooms[0]];
      expect(types([...left.state.events, ...left.timeline.events])).toContain('m.room.create');
    });

    it('a rejected invite goes to leave', async () => {
      const roomId = await alice.createRoom({ invite: [bob.userId] });
      const { next_batch: since } = await sync(bob);
      await bob.leave(roomId);
      const body = await sync(bob, { since });
      expect(body.rooms.leave[roomId].timeline.events.map((e: Any) => e.content.membership)).toEqual([
        'leave',
      ]);
    });
  });

  describe('account data, tags, typing, receipts', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
    });

    it('delivers global account data, room account data and tags', async () => {
      const { next_batch: since } = await sync(bob);
      expectStatus(await bob.put(`/user/${bob.userId}/account_data/org.example.global`, { g: 1 }), 200);
      expectStatus(
        await bob.put(`/user/${bob.userId}/rooms/${roomId}/account_data/org.example.room`, { r: 1 }),
        200,
      );
      const tag = await bob.put(`/user/${bob.userId}/rooms/${roomId}/tags/m.favourite`, { order: 0.5 });
      expectStatus(tag, 200);
      const body = await sync(bob, { since });
      expect(body.account_data.events).toEqual([{ type: 'org.example.global', content: { g: 1 } }]);
      expect(body.rooms.join[roomId].account_data.events).toEqual(
        expect.arrayContaining([
          { type: 'org.example.room', content: { r: 1 } },
          { type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } },
        ]),
      );
      const initial = await sync(bob);
      expect(initial.account_data.events).toContainEqual({ type: 'org.example.global', content: { g: 1 } });
      expect(initial.rooms.join[roomId].account_data.events).toContainEqual({
        type: 'm.tag',
        content: { tags: { 'm.favourite': { order: 0.5 } } },
      });
      const filtered = await sync(bob, {
        filter: inline({ account_data: { not_types: ['org.example.global'] } }),
      });
      expect(filtered.account_data.events).not.toContainEqual({
        type: 'org.example.global',
        content: { g: 1 },
      });
      // Patterns with * as in room event filters.
      const starred = await sync(bob, { filter: inline({ account_data: { types: ['org.example.g*'] } }) });
      expect(starred.account_data.events).toEqual([{ type: 'org.example.global', content: { g: 1 } }]);
      const starredOut = await sync(bob, { filter: inline({ account_data: { not_types: ['org.*'] } }) });
      expect(starredOut.account_data.events).not.toContainEqual({
        type: 'org.example.global',
        content: { g: 1 },
      });
    });

    it('account data and tags: GET, PUT, DELETE as the spec describes, removals delivered too', async () => {
      const put = await bob.put(`/user/${bob.userId}/account_data/org.example.prefs`, { theme: 'dark' });
      expectMatchesSpec(
        expectStatus(put, 200),
        'account-data.yaml',
        'put',
        '/user/{userId}/account_data/{type}',
      );
      const get = await bob.get(`/user/${bob.userId}/account_data/org.example.prefs`);
      expectMatchesSpec(
        expectStatus(get, 200),
        'account-data.yaml',
        'get',
        '/user/{userId}/account_data/{type}',
      );
      expect(get.body).toEqual({ theme: 'dark' });
      const missing = await bob.get(`/user/${bob.userId}/account_data/org.example.none`);
      expectRefused(missing, 404, 'M_NOT_FOUND');
      expectMatchesSpec(missing, 'account-data.yaml', 'get', '/user/{userId}/account_data/{type}');
      expectRefused(
        await alice.get(`/user/${bob.userId}/account_data/org.example.prefs`),
        403,
        'M_FORBIDDEN',
      );
      const roomPath = `/user/${bob.userId}/rooms/${roomId}/account_data/org.example.r`;
      expectStatus(await bob.put(roomPath, { x: 1 }), 200);
      const roomGet = expectStatus(await bob.get(roomPath), 200);
      expectMatchesSpec(
        roomGet,
        'account-data.yaml',
        'get',
        '/user/{userId}/rooms/{roomId}/account_data/{type}',
      );

      expectStatus(await bob.put(`/user/${bob.userId}/rooms/${roomId}/tags/u.work`, {}), 200);
      const tags = await bob.get(`/user/${bob.userId}/rooms/${roomId}/tags`);
      expectMatchesSpec(expectStatus(tags, 200), 'tags.yaml', 'get', '/user/{userId}/rooms/{roomId}/tags');
      expect(tags.body.tags['u.work']).toEqual({});
      const { next_batch: since } = await sync(bob);
      const del = await bob.delete(`/user/${bob.userId}/rooms/${roomId}/tags/u.work`);
      expectMatchesSpec(
        expectStatus(del, 200),
        'tags.yaml',
        'delete',
        '/user/{userId}/rooms/{roomId}/tags/{tag}',
      );
      const body = await sync(bob, { since });
      const tag = body.rooms.join[roomId].account_data.events.find((e: Any) => e.type === 'm.tag');
      expect(tag.content.tags['u.work']).toBeUndefined();
    });

    it('GET /profile answers as the spec describes', async () => {
      const res = await alice.get(`/profile/${bob.userId}`);
      expectMatchesSpec(expectStatus(res, 200), 'profile.yaml', 'get', '/profile/{userId}');
      const missing = await alice.get(`/profile/${encodeURIComponent('@nobody:test')}`);
      expectRefused(missing, 404, 'M_NOT_FOUND');
      expectMatchesSpec(missing, 'profile.yaml', 'get', '/profile/{userId}');
    });

    it('delivers typing in the ephemeral events, and its end', async () => {
      const { next_batch: since } = await sync(bob);
      const res = await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, {
        typing: true,
        timeout: 10_000,
      });
      expectMatchesSpec(expectStatus(res, 200), 'typing.yaml', 'put', '/rooms/{roomId}/typing/{userId}');
      const body = await sync(bob, { since });
      expect(body.rooms.join[roomId].ephemeral.events).toEqual([
        { type: 'm.typing', content: { user_ids: [alice.userId] } },
      ]);
      expectStatus(await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, { typing: false }), 200);
      const stopped = await sync(bob, { since: body.next_batch });
      expect(stopped.rooms.join[roomId].ephemeral.events).toEqual([
        { type: 'm.typing', content: { user_ids: [] } },
      ]);
      // An ephemeral filter that leaves typing out.
      expectStatus(await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, { typing: true }), 200);
      const unfiltered = await sync(bob, { since: stopped.next_batch });
      expect(unfiltered.rooms.join[roomId].ephemeral.events.map((e: Any) => e.type)).toEqual(['m.typing']);
      for (const ephemeral of [{ not_types: ['m.typ*'] }, { types: ['m.receipt'] }]) {
        const quiet = await sync(bob, { since: stopped.next_batch, filter: inline({ room: { ephemeral } }) });
        expect(quiet.rooms.join[roomId]?.ephemeral.events ?? []).toEqual([]);
      }
      expectStatus(await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, { typing: false }), 200);

      expectRefused(
        await alice.put(`/rooms/${roomId}/typing/${bob.userId}`, { typing: true }),
        403,
        'M_FORBIDDEN',
      );
      expectRefused(await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, {}), 400, 'M_BAD_JSON');
      expectRefused(
        await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, { typing: true, timeout: -5 }),
        400,
        'M_BAD_JSON',
      );
      const eve = await client(t, 'eve');
      expectRefused(
        await eve.put(`/rooms/${roomId}/typing/${eve.userId}`, { typing: true }),
        403,
        'M_FORBIDDEN',
      );
    });

    it('ends typing when its timeout passes: a waiting /sync wakes with the user gone', async () => {
      const { next_batch: since } = await sync(bob);
      expectStatus(
        await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, { typing: true, timeout: 800 }),
        200,
      );
      // Typing starting wakes nothing new here (it already happened); the answer is immediate.
      const started = await sync(bob, { since, timeout: 10_000 });
      expect(started.rooms.join[roomId].ephemeral.events).toEqual([
        { type: 'm.typing', content: { user_ids: [alice.userId] } },
      ]);
      const waitFrom = Date.now();
      const ended = await sync(bob, { since: started.next_batch, timeout: 10_000 });
      const waited = Date.now() - waitFrom;
      expect(ended.rooms.join[roomId].ephemeral.events).toEqual([
        { type: 'm.typing', content: { user_ids: [] } },
      ]);
      // Woken by the expiry (about 800 ms after the PUT), not by the long-poll's timeout.
      expect(waited).toBeLessThan(3000);
      // The end is delivered once: the next sync has nothing new about typing.
      const after = await sync(bob, { since: ended.next_batch });
      expect(after.rooms?.join?.[roomId]).toBeUndefined();
    });

    it('delivers read receipts, keeps private ones private, and counts unread messages', async () => {
      const first = await alice.send(roomId, 'read me');
      const second = await alice.send(roomId, 'and me');
      const before = await sync(bob);
      expect(before.rooms.join[roomId].unread_notifications.notification_count).toBeGreaterThanOrEqual(2);

      const res = await bob.post(`/rooms/${roomId}/receipt/m.read/${encodeURIComponent(second)}`, {});
      expectMatchesSpec(
        expectStatus(res, 200),
        'receipts.yaml',
        'post',
        '/rooms/{roomId}/receipt/{receiptType}/{eventId}',
      );
      const forAlice = await sync(alice, { since: before.next_batch });
      const receipt = forAlice.rooms.join[roomId].ephemeral.events.find((e: Any) => e.type === 'm.receipt');
      expect(Object.keys(receipt.content)).toEqual([second]);
      expect(receipt.content[second]['m.read'][bob.userId].ts).toEqual(expect.any(Number));
      expect((await sync(bob)).rooms.join[roomId].unread_notifications.notification_count).toBe(0);

      // Counted as the default push rules count: notices not at all; mentions as highlights.
      const localpart = bob.userId.slice(1, bob.userId.indexOf(':'));
      await alice.send(roomId, 'plain chatter');
      expectStatus(
        await alice.sendRaw(roomId, { msgtype: 'm.notice', body: `notice for ${localpart}` }),
        200,
      );
      expectStatus(
        await alice.sendRaw(roomId, {
          msgtype: 'm.text',
          body: 'look',
          'm.mentions': { user_ids: [bob.userId] },
        }),
        200,
      );
      await alice.send(roomId, `hey ${localpart.toUpperCase()}, legacy mention`);
      expectStatus(
        await alice.sendRaw(roomId, { msgtype: 'm.text', body: `${localpart} but`, 'm.mentions': {} }),
        200,
      );
      expect((await sync(bob)).rooms.join[roomId].unread_notifications).toEqual({
        notification_count: 4,
        highlight_count: 2,
      });
      // Edits do not notify (unless they mention); a msgtype nested deeper is no notice; a display
      // name with a quote in it is found (it is escaped in the stored JSON).
      const edit = {
        msgtype: 'm.text',
        body: '* fixed',
        'm.new_content': { msgtype: 'm.text', body: 'fixed' },
        'm.relates_to': { rel_type: 'm.replace', event_id: first },
      };
      expectStatus(await alice.sendRaw(roomId, edit), 200);
      expectStatus(
        await alice.sendRaw(roomId, {
          msgtype: 'm.text',
          body: `for ${localpart}`,
          x: { msgtype: 'm.notice' },
        }),
        200,
      );
      expectStatus(await bob.put(`/profile/${bob.userId}/displayname`, { displayname: 'Bee "Q"' }), 200);
      await alice.send(roomId, 'ask Bee "Q" about it');
      expect((await sync(bob)).rooms.join[roomId].unread_notifications).toEqual({
        notification_count: 6,
        highlight_count: 4,
      });
      const last = await alice.send(roomId, 'caught up');
      expectStatus(await bob.post(`/rooms/${roomId}/receipt/m.read/${encodeURIComponent(last)}`, {}), 200);

      const { next_batch: since } = await sync(alice);
      expectStatus(
        await bob.post(`/rooms/${roomId}/receipt/m.read.private/${encodeURIComponent(first)}`, {}),
        200,
      );
      const privateForAlice = await sync(alice, { since });
      expect(privateForAlice.rooms.join[roomId]?.ephemeral.events ?? []).toEqual([]);
      const privateForBob = await sync(bob, { since });
      const own = privateForBob.rooms.join[roomId].ephemeral.events.find((e: Any) => e.type === 'm.receipt');
      expect(own.content[first]['m.read.private'][bob.userId]).toBeDefined();
    });

    it('refuses bad receipts', async () => {
      const eventId = await alice.send(roomId, 'x');
      expectRefused(
        await bob.post(`/rooms/${roomId}/receipt/m.unknown/${encodeURIComponent(eventId)}`, {}),
        400,
        'M_INVALID_PARAM',
      );
      expectRefused(await bob.post(`/rooms/${roomId}/receipt/m.read/$nothing`, {}), 404, 'M_NOT_FOUND');
      expectRefused(
        await bob.post(`/rooms/${roomId}/receipt/m.read/${encodeURIComponent(eventId)}`, { thread_id: 5 }),
        400,
        'M_BAD_JSON',
      );
      const other = await alice.createRoom({ preset: 'public_chat' });
      const elsewhere = await alice.send(other, 'elsewhere');
      expectRefused(
        await bob.post(`/rooms/${roomId}/receipt/m.read/${encodeURIComponent(elsewhere)}`, {}),
        404,
        'M_NOT_FOUND',
      );
      const eve = await client(t, 'eve2');
      expectRefused(
        await eve.post(`/rooms/${roomId}/receipt/m.read/${encodeURIComponent(eventId)}`, {}),
        403,
        'M_FORBIDDEN',
      );
    });

    it('read markers set m.fully_read and receipts', async () => {
      const eventId = await alice.send(roomId, 'marker');
      const { next_batch: since } = await sync(bob);
      const res = await bob.post(`/rooms/${roomId}/read_markers`, {
        'm.fully_read': eventId,
        'm.read': eventId,
      });
      expectMatchesSpec(expectStatus(res, 200), 'read_markers.yaml', 'post', '/rooms/{roomId}/read_markers');
      const body = await sync(bob, { since });
      expect(body.rooms.join[roomId].account_data.events).toContainEqual({
        type: 'm.fully_read',
        content: { event_id: eventId },
      });
      expect(body.rooms.join[roomId].ephemeral.events.map((e: Any) => e.type)).toContain('m.receipt');
      expectRefused(
        await bob.post(`/rooms/${roomId}/read_markers`, { 'm.fully_read': 5 }),
        400,
        'M_BAD_JSON',
      );
    });
  });

  describe('event details', () => {
    it('carries unsigned.transaction_id only for the sending device', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const { next_batch: since } = await sync(alice);
      const id = txn();
      expectStatus(
        await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'echo' }, 'm.room.message', id),
        200,
      );
      const mine = await sync(alice, { since });
      expect(mine.rooms.join[roomId].timeline.events[0].unsigned.transaction_id).toBe(id);
      const login = await t.http
        .post(`${CS}/login`)
        .send({ type: 'm.login.password', user: 'alice', password: 'correct horse battery' });
      const otherDevice = new RoomClient(t, {
        ...alice.user,
        accessToken: login.body.access_token,
        deviceId: login.body.device_id,
      });
      const theirs = await sync(otherDevice, { since });
      expect(theirs.rooms.join[roomId].timeline.events[0].unsigned.transaction_id).toBeUndefined();
      const bobs = await sync(bob, { since });
      expect(bobs.rooms.join[roomId].timeline.events[0].unsigned.transaction_id).toBeUndefined();
    });

    it('shows redacted events with redacted_because, and the redaction itself', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const eventId = await alice.send(roomId, 'regret');
      const { next_batch: since } = await sync(bob);
      const redaction = expectStatus(
        await alice.put(`/rooms/${roomId}/redact/${eventId}/${txn()}`, { reason: 'oops' }),
        200,
      );
      const incremental = await sync(bob, { since });
      expect(incremental.rooms.join[roomId].timeline.events).toEqual([
        expect.objectContaining({ type: 'm.room.redaction', redacts: eventId, content: { reason: 'oops' } }),
      ]);
      const initial = await sync(bob);
      const redacted = initial.rooms.join[roomId].timeline.events.find((e: Any) => e.event_id === eventId);
      expect(redacted.content).toEqual({});
      expect(redacted.unsigned.redacted_because).toMatchObject({
        event_id: redaction.body.event_id,
        type: 'm.room.redaction',
        sender: alice.userId,
        content: { reason: 'oops' },
      });
    });

    it('shows state replacements with prev_content', async () => {
      const roomId = await alice.createRoom({ name: 'first' });
      const { next_batch: since } = await sync(alice);
      await alice.state(roomId, 'm.room.name', { name: 'second' });
      const body = await sync(alice, { since });
      expect(body.rooms.join[roomId].timeline.events[0].unsigned.prev_content).toEqual({ name: 'first' });
    });
  });
});

/** A restart must not wait for the long-polls in flight to time out. */
describe('/sync during shutdown', () => {
  it('answers a waiting long-poll at once when the server shuts down, and the server then closes', async () => {
    const t = await TestApp.start();
    try {
      const alice = await client(t, 'alice');
      const { next_batch: since } = await sync(alice);
      let answeredAt = 0;
      const poll = alice.syncRaw({ since, timeout: 60_000 }).then((res) => {
        answeredAt = Date.now();
        return res;
      });
      // Let the long-poll start waiting.
      await new Promise((r) => setTimeout(r, 300));
      expect(answeredAt).toBe(0);
      const closedAt = await t.stop().then(() => Date.now());
      const res = await poll;
      expect(res.status).toBe(200);
      expect(res.body.next_batch).toEqual(expect.any(String));
      // Answered before the server finished closing: the close did not wait for the 60 s timeout.
      expect(answeredAt).toBeGreaterThan(0);
      expect(answeredAt).toBeLessThanOrEqual(closedAt);
    } finally {
      await dropTestState(t.config);
    }
  });
});
