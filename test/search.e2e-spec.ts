import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { SqlService } from '../src/database/sql.service.js';
import { SearchService } from '../src/search/services/search.service.js';
import { silentLogger, unrefLongTimers } from './helpers/sdk-support.js';
import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** POST /search as `who`, checked against the spec's schema for whatever status comes back. */
async function search(who: RoomClient, criteria: Json, nextBatch?: string) {
  const path = nextBatch ? `/search?next_batch=${encodeURIComponent(nextBatch)}` : '/search';
  const res = await who.post(path, { search_categories: { room_events: criteria } });
  expectMatchesSpec(res, 'search.yaml', 'post', '/search');
  return res;
}

async function found(who: RoomClient, criteria: Json) {
  const res = expectStatus(await search(who, criteria), 200);
  return res.body.search_categories.room_events;
}

const bodiesOf = (roomEvents: Json): string[] =>
  roomEvents.results.map(
    (r: Json) => r.result.content.body ?? r.result.content.name ?? r.result.content.topic,
  );

/** POST /search: what a user finds, in which order, page by page, and what they must not find. */
describe('search', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  let carol: RoomClient;
  let shared: string;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    bob = await client(t, 'bob');
    carol = await client(t, 'carol');
    shared = await alice.createRoom({ name: 'Planning', topic: 'quarterly budget review' });
    await alice.invite(shared, bob.userId);
    await bob.join(shared);
  });

  afterAll(async () => {
    await t.close();
  });

  it("finds messages, names and topics of the user's rooms, and nothing they may not see", async () => {
    await alice.send(shared, 'the deployment failed again');
    await bob.send(shared, 'deploying the fix tomorrow');

    // Carol's own room: bob was never in it.
    const secret = await carol.createRoom({ preset: 'private_chat' });
    await carol.send(secret, 'deployment of the secret project');

    // A room bob was only invited to (never joined).
    const invited = await carol.createRoom({ preset: 'private_chat' });
    await carol.send(invited, 'deployment notes for invitees');
    await carol.invite(invited, bob.userId);

    // History visibility "joined": bob sees what was said while he was in the room, only.
    const joinedOnly = await alice.createRoom({
      initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }],
    });
    await alice.send(joinedOnly, 'deployment before bob came');
    await alice.invite(joinedOnly, bob.userId);
    await bob.join(joinedOnly);
    await alice.send(joinedOnly, 'deployment while bob is here');

    // A room bob left: what he could see stays searchable.
    const left = await alice.createRoom({ preset: 'public_chat' });
    await bob.join(left);
    await alice.send(left, 'deployment in a room bob left');
    await bob.leave(left);
    await alice.send(left, 'deployment after bob left');

    // An encrypted room: a plaintext message sent into it is never surfaced.
    const encrypted = await alice.createRoom({
      initial_state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    await alice.invite(encrypted, bob.userId);
    await bob.join(encrypted);
    await alice.send(encrypted, 'deployment sent in the clear by mistake');

    const results = await found(bob, { search_term: 'deployment' });
    expect(bodiesOf(results).sort()).toEqual(
      [
        'the deployment failed again',
        'deploying the fix tomorrow',
        'deployment while bob is here',
        'deployment in a room bob left',
      ].sort(),
    );
    // The two hits bob may not see ("before bob came", "after bob left") are counted, not shown.
    expect(results.count).toBe(6);
    expect(results.highlights).toEqual(expect.arrayContaining(['deployment', 'deploying']));
    for (const r of results.results) {
      expect(r.result.room_id).toBeDefined();
      expect(typeof r.rank).toBe('number');
    }

    // Carol finds her own rooms' messages, not bob's shared room.
    expect(bodiesOf(await found(carol, { search_term: 'deployment' })).sort()).toEqual(
      ['deployment notes for invitees', 'deployment of the secret project'].sort(),
    );
  });

  it('searches names and topics, and honours keys and the filter', async () => {
    const topic = await found(bob, { search_term: 'budget' });
    expect(topic.results.map((r: Json) => [r.result.type, r.result.content.topic])).toEqual([
      ['m.room.topic', 'quarterly budget review'],
    ]);
    expect((await found(bob, { search_term: 'planning' })).results[0].result.type).toBe('m.room.name');
    expect((await found(bob, { search_term: 'budget', keys: ['content.body'] })).results).toEqual([]);
    expect((await found(bob, { search_term: 'budget', keys: ['content.topic'] })).results).toHaveLength(1);

    const other = await alice.createRoom();
    await alice.invite(other, bob.userId);
    await bob.join(other);
    await alice.send(other, 'filterword from alice elsewhere');
    await alice.send(shared, 'filterword from alice in planning');
    await bob.send(shared, 'filterword from bob in planning');

    const term = 'filterword';
    expect(bodiesOf(await found(bob, { search_term: term, filter: { rooms: [other] } }))).toEqual([
      'filterword from alice elsewhere',
    ]);
    expect(bodiesOf(await found(bob, { search_term: term, filter: { not_rooms: [other] } })).sort()).toEqual(
      ['filterword from alice in planning', 'filterword from bob in planning'].sort(),
    );
    expect(bodiesOf(await found(bob, { search_term: term, filter: { senders: [bob.userId] } }))).toEqual([
      'filterword from bob in planning',
    ]);
    expect(
      bodiesOf(await found(bob, { search_term: term, filter: { not_senders: [bob.userId] } })).sort(),
    ).toEqual(['filterword from alice elsewhere', 'filterword from alice in planning'].sort());
    expect((await found(bob, { search_term: term, filter: { types: ['m.room.topic'] } })).results).toEqual(
      [],
    );
    // A room the user is not in stays out even when asked for by name.
    const foreign = await carol.createRoom();
    await carol.send(foreign, 'filterword from carol');
    expect((await found(bob, { search_term: term, filter: { rooms: [foreign] } })).results).toEqual([]);
    // Only stop words, or only exclusions (which would match nearly everything): nothing to look for.
    const nothing = { count: 0, highlights: [], results: [] };
    expect(await found(bob, { search_term: 'the and of' })).toEqual(nothing);
    expect(await found(bob, { search_term: '-filterword' })).toEqual(nothing);
    // An exclusion next to a term narrows it; a quoted phrase must match as a phrase.
    expect(bodiesOf(await found(bob, { search_term: 'filterword -elsewhere -bob' }))).toEqual([
      'filterword from alice in planning',
    ]);
    expect(bodiesOf(await found(bob, { search_term: '"alice elsewhere"' }))).toEqual([
      'filterword from alice elsewhere',
    ]);
    expect((await found(bob, { search_term: '"elsewhere alice"' })).results).toEqual([]);
  });

  it('orders by rank or by recency', async () => {
    const room = await alice.createRoom();
    await alice.send(room, 'kiwi once among many other words in a long sentence');
    await alice.send(room, 'kiwi kiwi kiwi');
    await alice.send(room, 'kiwi twice, kiwi');

    const byRank = await found(alice, { search_term: 'kiwi' });
    expect(bodiesOf(byRank)).toEqual([
      'kiwi kiwi kiwi',
      'kiwi twice, kiwi',
      'kiwi once among many other words in a long sentence',
    ]);
    const ranks = byRank.results.map((r: Json) => r.rank);
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
    expect(ranks[0]).toBeGreaterThan(ranks[2]);

    const byTime = await found(alice, { search_term: 'kiwi', order_by: 'recent' });
    expect(bodiesOf(byTime)).toEqual([
      'kiwi twice, kiwi',
      'kiwi kiwi kiwi',
      'kiwi once among many other words in a long sentence',
    ]);
  });

  it('pages through the results with next_batch, in both orders', async () => {
    const room = await alice.createRoom();
    for (let i = 0; i < 23; i++) await alice.send(room, `pagination test number ${i}${' pad'.repeat(i % 4)}`);

    for (const order_by of ['rank', 'recent']) {
      const seen: string[] = [];
      const pages: number[] = [];
      let nextBatch: string | undefined;
      do {
        const page = expectStatus(
          await search(alice, { search_term: 'pagination', order_by, filter: { limit: 10 } }, nextBatch),
          200,
        ).body.search_categories.room_events;
        expect(page.count).toBe(23);
        pages.push(page.results.length);
        seen.push(...page.results.map((r: Json) => r.result.event_id));
        nextBatch = page.next_batch;
      } while (nextBatch);
      expect(pages).toEqual([10, 10, 3]);
      expect(new Set(seen).size).toBe(23);
    }

    const first = await found(alice, { search_term: 'pagination', order_by: 'recent', filter: { limit: 5 } });
    // A token from one ordering does not continue another.
    const mixed = await search(alice, { search_term: 'pagination', order_by: 'rank' }, first.next_batch);
    expect([mixed.status, mixed.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    for (const token of [
      'not-a-token',
      Buffer.from('{"o":"rank","p":1,"r":0.1,"room":"!a\u0000"}').toString('base64url'),
    ]) {
      const garbage = await search(alice, { search_term: 'pagination' }, token);
      expect([garbage.status, garbage.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    }
  });

  it('forgets a message once it is redacted', async () => {
    const room = await alice.createRoom();
    const eventId = await alice.send(room, 'rhubarb crumble recipe');
    await alice.send(room, 'rhubarb is a vegetable');
    expect(bodiesOf(await found(alice, { search_term: 'rhubarb' })).sort()).toEqual([
      'rhubarb crumble recipe',
      'rhubarb is a vegetable',
    ]);
    expectStatus(
      await alice.put(`/rooms/${encodeURIComponent(room)}/redact/${encodeURIComponent(eventId)}/r1`, {}),
      200,
    );
    expect(bodiesOf(await found(alice, { search_term: 'rhubarb' }))).toEqual(['rhubarb is a vegetable']);
    expect(await t.sql(`SELECT 1 FROM search_events WHERE event_id = $1`, [eventId])).toEqual([]);
  });

  it('returns context, profiles, room state and groups when asked', async () => {
    const room = await alice.createRoom({ name: 'Context room' });
    await alice.invite(room, bob.userId);
    await bob.join(room);
    expectStatus(
      await bob.put(`/profile/${encodeURIComponent(bob.userId)}/displayname`, { displayname: 'Bobby' }),
      200,
    );
    await alice.send(room, 'before the hit');
    const hit = await bob.send(room, 'the contextual hit');
    await alice.send(room, 'after the hit');

    const res = await found(bob, {
      search_term: 'contextual',
      event_context: { before_limit: 1, after_limit: 1, include_profile: true },
      include_state: true,
      groupings: { group_by: [{ key: 'room_id' }, { key: 'sender' }] },
    });
    expect(res.results).toHaveLength(1);
    const { result, context } = res.results[0];
    expect(result.event_id).toBe(hit);
    expect(context.events_before.map((e: Json) => e.content.body)).toEqual(['before the hit']);
    expect(context.events_after.map((e: Json) => e.content.body)).toEqual(['after the hit']);
    expect(context.profile_info[bob.userId]).toEqual({ displayname: 'Bobby' });
    expect(Object.keys(context.profile_info).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(typeof context.start).toBe('string');
    expect(typeof context.end).toBe('string');
    // The context tokens work with /messages.
    const back = expectStatus(await bob.messages(room, { from: context.start, dir: 'b', limit: 1 }), 200);
    expect(back.body.chunk).toHaveLength(1);
    expect(back.body.chunk[0].content.body).not.toBe('before the hit');

    expect(
      res.state[room].some((e: Json) => e.type === 'm.room.name' && e.content.name === 'Context room'),
    ).toBe(true);
    expect(res.groups.room_id).toEqual({ [room]: { results: [hit], order: 1 } });
    expect(res.groups.sender).toEqual({ [bob.userId]: { results: [hit], order: 1 } });
  });

  it('gives each group a next_batch that pages within the group', async () => {
    const a = await alice.createRoom();
    const b = await alice.createRoom();
    for (let i = 0; i < 3; i++) {
      await alice.send(a, `grouped word ${i} in a`);
      await alice.send(b, `grouped word ${i} in b`);
    }
    const res = await found(alice, {
      search_term: 'grouped',
      order_by: 'recent',
      filter: { limit: 2 },
      groupings: { group_by: [{ key: 'room_id' }] },
    });
    expect(bodiesOf(res)).toEqual(['grouped word 2 in b', 'grouped word 2 in a']);
    const inA = res.groups.room_id[a];
    expect(inA.results).toHaveLength(1);
    const rest = await search(alice, { search_term: 'grouped', order_by: 'recent' }, inA.next_batch);
    expect(bodiesOf(expectStatus(rest, 200).body.search_categories.room_events)).toEqual([
      'grouped word 1 in a',
      'grouped word 0 in a',
    ]);
  });

  it('has a message indexed by the time its send answers, written without waiting for the WAL flush', async () => {
    const room = await alice.createRoom();
    await alice.send(room, 'xylophonic rehearsal');
    // No waiting: the listener's statement has committed before the send answered.
    expect(bodiesOf(await found(alice, { search_term: 'xylophonic' }))).toEqual(['xylophonic rehearsal']);
    // The index is derived data: its statements commit asynchronously, the events synchronously.
    const sql = t.app.get(SqlService);
    expect(await sql.derived.one('SHOW synchronous_commit')).toEqual({ synchronous_commit: 'off' });
    expect(await sql.one('SHOW synchronous_commit')).toEqual({ synchronous_commit: 'on' });
  });

  it("deletes a room's rows for the purge, and only that room's", async () => {
    const doomed = await alice.createRoom({ name: 'Doomed purgeword room' });
    const kept = await alice.createRoom();
    for (let i = 0; i < 3; i++) await alice.send(doomed, `purgeword ${i}`);
    await alice.send(kept, 'purgeword kept');
    expect((await found(alice, { search_term: 'purgeword' })).count).toBe(5);
    expect(await t.app.get(SearchService).deleteRoom(doomed)).toBe(4); // the name and three messages
    expect(bodiesOf(await found(alice, { search_term: 'purgeword' }))).toEqual(['purgeword kept']);
  });

  it('answers bad requests with Matrix 4xx errors', async () => {
    const bad: [Json, string][] = [
      [{}, 'M_BAD_JSON'],
      [{ search_categories: 'x' }, 'M_BAD_JSON'],
      [{ search_categories: [] }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: {} } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 5 } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x'.repeat(1001) } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', keys: ['content.url'] } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', keys: 'content.body' } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', order_by: 'oldest' } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', filter: 'x' } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', filter: { limit: 0 } } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', filter: { limit: 'ten' } } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', filter: { rooms: 'r' } } } }, 'M_BAD_JSON'],
      [{ search_categories: { room_events: { search_term: 'x', filter: { senders: [1] } } } }, 'M_BAD_JSON'],
      [
        { search_categories: { room_events: { search_term: 'x', event_context: { before_limit: -1 } } } },
        'M_BAD_JSON',
      ],
      [
        {
          search_categories: { room_events: { search_term: 'x', event_context: { include_profile: 'yes' } } },
        },
        'M_BAD_JSON',
      ],
      [{ search_categories: { room_events: { search_term: 'x', include_state: 1 } } }, 'M_BAD_JSON'],
      [
        {
          search_categories: {
            room_events: { search_term: 'x', groupings: { group_by: [{ key: 'type' }] } },
          },
        },
        'M_BAD_JSON',
      ],
      [
        { search_categories: { room_events: { search_term: 'x', groupings: { group_by: 'room_id' } } } },
        'M_BAD_JSON',
      ],
      // PostgreSQL cannot hold NUL: refused up front, not a 500.
      [{ search_categories: { room_events: { search_term: 'a\u0000b' } } }, 'M_BAD_JSON'],
      [
        { search_categories: { room_events: { search_term: 'x', filter: { rooms: ['!a\u0000:b'] } } } },
        'M_BAD_JSON',
      ],
      [
        { search_categories: { room_events: { search_term: 'x', filter: { not_senders: ['@\u0000'] } } } },
        'M_BAD_JSON',
      ],
    ];
    for (const [body, errcode] of bad) {
      const res = await alice.post('/search', body);
      expectMatchesSpec(res, 'search.yaml', 'post', '/search');
      expect({ body, status: res.status, errcode: res.body.errcode }).toEqual({ body, status: 400, errcode });
    }
    const notJson = await alice
      .post('/search')
      .set('Content-Type', 'application/json')
      .send('{"search_categories":');
    expect([notJson.status, notJson.body.errcode]).toEqual([400, 'M_NOT_JSON']);
    const anonymous = await t.http.post('/_matrix/client/v3/search').send({ search_categories: {} });
    expect([anonymous.status, anonymous.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    // No room_events category: nothing asked, nothing answered. r0 answers too.
    const none = expectStatus(await alice.post('/_matrix/client/r0/search', { search_categories: {} }), 200);
    expect(none.body).toEqual({ search_categories: {} });
  });

  it("works with matrix-js-sdk's searchRoomEvents and backPaginateRoomEventsSearch", async () => {
    (sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');
    const room = await alice.createRoom({ name: 'SDK search' });
    for (let i = 0; i < 13; i++) await alice.send(room, `sdkterm message ${i}`);

    const restoreTimers = unrefLongTimers();
    const sdkClient = sdk.createClient({
      baseUrl: t.baseUrl,
      accessToken: alice.user.accessToken,
      userId: alice.userId,
      deviceId: alice.user.deviceId,
      logger: silentLogger,
    });
    const prepared = new Promise<void>((resolve) =>
      sdkClient.on(sdk.ClientEvent.Sync, (state) => state === sdk.SyncState.Prepared && resolve()),
    );
    await sdkClient.startClient({ initialSyncLimit: 1 });
    try {
      await prepared;
      await waitFor(() => sdkClient.getRoom(room), 'the client to know the room');
      const results = await sdkClient.searchRoomEvents({ term: 'sdkterm' });
      expect(results.count).toBe(13);
      expect(results.results).toHaveLength(10);
      expect(results.highlights).toContain('sdkterm');
      const newest = results.results[0].context;
      expect(newest.getEvent().getContent().body).toBe('sdkterm message 12');
      expect(newest.getEvent().getRoomId()).toBe(room);
      // Context: one event before it (the previous message); none after the newest.
      expect(newest.getTimeline().map((e) => e.getContent().body)).toEqual([
        'sdkterm message 11',
        'sdkterm message 12',
      ]);
      const more = await sdkClient.backPaginateRoomEventsSearch(results);
      expect(more.results).toHaveLength(13);
      expect(more.next_batch).toBeUndefined();
      expect(more.results.map((r) => r.context.getEvent().getContent().body)).toEqual(
        Array.from({ length: 13 }, (_, i) => `sdkterm message ${12 - i}`),
      );
    } finally {
      sdkClient.stopClient();
      restoreTimers();
    }
  });
});
