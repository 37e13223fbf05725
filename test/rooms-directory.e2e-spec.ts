import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { CS, RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';

const ALIAS = '/directory/room/{roomAlias}';

function expectRefused(res: { status: number; body: { errcode?: string } }, status: number, errcode: string) {
  expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status, errcode });
}

const enc = encodeURIComponent;

/** Room aliases: resolve, create (409 on conflict), delete; a room's aliases. */
describe('room aliases', () => {
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
  });
  afterAll(async () => {
    await t.close();
  });

  it('checks a canonical alias as the spec asks: well-formed, and ours pointing to the room', async () => {
    const room = encodeURIComponent(roomId);
    const put = (content: object) => alice.put(`/rooms/${room}/state/m.room.canonical_alias/`, content);
    expectStatus(await alice.put(`/directory/room/${enc('#canon:test')}`, { room_id: roomId }), 200);
    const other = await alice.createRoom({ room_alias_name: 'elsewhere' });
    expect(other).toBeDefined();
    const refused: [object, string][] = [
      [{ alias: 'notalias' }, 'M_INVALID_PARAM'],
      [{ alias: 5 }, 'M_INVALID_PARAM'],
      [{ alt_aliases: 'x' }, 'M_INVALID_PARAM'],
      [{ alias: '#nosuch:test' }, 'M_BAD_ALIAS'],
      [{ alias: '#canon:test', alt_aliases: ['#elsewhere:test'] }, 'M_BAD_ALIAS'],
    ];
    for (const [content, errcode] of refused) {
      const res = await put(content);
      expect([JSON.stringify(content), res.status, res.body.errcode]).toEqual([
        JSON.stringify(content),
        400,
        errcode,
      ]);
    }
    expectStatus(await put({ alias: '#canon:test', alt_aliases: ['#far:remote.example'] }), 200);
    expectStatus(await put({}), 200);
  });

  it('creates, resolves (without a token too) and deletes an alias', async () => {
    const put = await bob.put(`/directory/room/${enc('#bobs:test')}`, { room_id: roomId });
    expectMatchesSpec(expectStatus(put, 200), 'directory.yaml', 'put', ALIAS);
    const get = await t.http.get(`${CS}/directory/room/${enc('#bobs:test')}`);
    expectMatchesSpec(expectStatus(get, 200), 'directory.yaml', 'get', ALIAS);
    expect(get.body).toEqual({ room_id: roomId, servers: ['test'] });
    const list = await bob.get(`/rooms/${roomId}/aliases`);
    expectMatchesSpec(expectStatus(list, 200), 'directory.yaml', 'get', '/rooms/{roomId}/aliases');
    expect(list.body.aliases).toContain('#bobs:test');
    await bob.join('#bobs:test');

    const del = await bob.delete(`/directory/room/${enc('#bobs:test')}`);
    expectMatchesSpec(expectStatus(del, 200), 'directory.yaml', 'delete', ALIAS);
    const gone = await bob.get(`/directory/room/${enc('#bobs:test')}`);
    expectRefused(gone, 404, 'M_NOT_FOUND');
    expectMatchesSpec(gone, 'directory.yaml', 'get', ALIAS);
    expectRefused(await bob.delete(`/directory/room/${enc('#bobs:test')}`), 404, 'M_NOT_FOUND');
  });

  it('answers 409 when the alias exists, for the same room or another', async () => {
    await alice.put(`/directory/room/${enc('#taken:test')}`, { room_id: roomId });
    const other = await alice.createRoom();
    for (const target of [roomId, other]) {
      const res = await alice.put(`/directory/room/${enc('#taken:test')}`, { room_id: target });
      expect(res.status).toBe(409);
      expectMatchesSpec(res, 'directory.yaml', 'put', ALIAS);
    }
  });

  it('refuses aliases for rooms one is not in, unknown rooms, other servers, bad aliases', async () => {
    const carol = await client(t, 'carol');
    expectRefused(
      await carol.put(`/directory/room/${enc('#carols:test')}`, { room_id: roomId }),
      403,
      'M_FORBIDDEN',
    );
    expectRefused(
      await alice.put(`/directory/room/${enc('#x:test')}`, { room_id: '!nowhere:test' }),
      404,
      'M_NOT_FOUND',
    );
    expectRefused(
      await alice.put(`/directory/room/${enc('#x:elsewhere')}`, { room_id: roomId }),
      400,
      'M_INVALID_PARAM',
    );
    expectRefused(await alice.put(`/directory/room/nohash`, { room_id: roomId }), 400, 'M_INVALID_PARAM');
    expectRefused(
      await alice.put(`/directory/room/${enc('#nocolon')}`, { room_id: roomId }),
      400,
      'M_INVALID_PARAM',
    );
    expectRefused(await alice.put(`/directory/room/${enc('#x:test')}`, {}), 400, 'M_BAD_JSON');
    expectRefused(
      await alice.put(`/directory/room/${enc('#x:test')}`, { room_id: 'not-a-room' }),
      400,
      'M_INVALID_PARAM',
    );
    expectRefused(await t.http.get(`${CS}/directory/room/nohash`), 400, 'M_INVALID_PARAM');
  });

  it('lets the alias creator and room moderators delete an alias, nobody else', async () => {
    await alice.put(`/directory/room/${enc('#alices:test')}`, { room_id: roomId });
    expectRefused(await bob.delete(`/directory/room/${enc('#alices:test')}`), 403, 'M_FORBIDDEN');
    await bob.put(`/directory/room/${enc('#bobs2:test')}`, { room_id: roomId });
    expectStatus(await alice.delete(`/directory/room/${enc('#bobs2:test')}`), 200);
    expectStatus(await alice.delete(`/directory/room/${enc('#alices:test')}`), 200);
  });

  it('GET /rooms/{roomId}/aliases is for members only', async () => {
    const carol = await client(t, 'carol2');
    expectRefused(await carol.get(`/rooms/${roomId}/aliases`), 403, 'M_FORBIDDEN');
    expectRefused(await carol.get(`/rooms/nope/aliases`), 400, 'M_INVALID_PARAM');
  });
});

/** The public room directory: publishing, listing, searching, paging. */
describe('public rooms', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  const rooms: string[] = [];

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    bob = await client(t, 'bob');
    for (let i = 0; i < 5; i++) {
      rooms.push(
        await alice.createRoom({
          visibility: 'public',
          preset: 'public_chat',
          name: `Room ${i}`,
          topic: i % 2 === 0 ? 'about cheese' : 'about bread',
          room_alias_name: `room${i}`,
        }),
      );
    }
    // Member counts order the list: room 3 has the most members.
    await bob.join(rooms[3]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET lists published rooms with their details, the biggest first', async () => {
    const res = expectStatus(await t.http.get(`${CS}/publicRooms`), 200);
    expectMatchesSpec(res, 'list_public_rooms.yaml', 'get', '/publicRooms');
    expect(res.body.total_room_count_estimate).toBe(5);
    expect(res.body.chunk[0]).toEqual({
      room_id: rooms[3],
      name: 'Room 3',
      topic: 'about bread',
      canonical_alias: '#room3:test',
      num_joined_members: 2,
      world_readable: false,
      guest_can_join: false,
      join_rule: 'public',
    });
  });

  it('GET pages with limit and since', async () => {
    const seen: string[] = [];
    let since: string | undefined;
    let prev: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = expectStatus(
        await t.http.get(`${CS}/publicRooms?limit=2${since ? `&since=${since}` : ''}`),
        200,
      );
      expectMatchesSpec(res, 'list_public_rooms.yaml', 'get', '/publicRooms');
      expect(res.body.chunk.length).toBeLessThanOrEqual(2);
      if (page > 0) expect(res.body.prev_batch).toBeDefined();
      seen.push(...res.body.chunk.map((c: { room_id: string }) => c.room_id));
      prev = res.body.prev_batch;
      since = res.body.next_batch;
      if (!since) break;
    }
    expect(since).toBeUndefined();
    expect(prev).toBeDefined();
    expect(seen.sort()).toEqual([...rooms].sort());
  });

  it('POST searches names, topics and aliases, and pages the matches', async () => {
    const search = async (body: object) => {
      const res = expectStatus(await bob.post('/publicRooms', body), 200);
      expectMatchesSpec(res, 'list_public_rooms.yaml', 'post', '/publicRooms');
      return res.body;
    };
    const cheese = await search({ filter: { generic_search_term: 'CHEESE' } });
    expect(cheese.chunk.map((c: { name: string }) => c.name).sort()).toEqual(['Room 0', 'Room 2', 'Room 4']);
    expect(
      (await search({ filter: { generic_search_term: '#room1' } })).chunk.map(
        (c: { room_id: string }) => c.room_id,
      ),
    ).toEqual([rooms[1]]);
    expect((await search({ filter: { generic_search_term: 'nothing like it' } })).chunk).toEqual([]);

    const first = await search({ limit: 2, filter: { generic_search_term: 'cheese' } });
    expect(first.chunk).toHaveLength(2);
    expect(first.next_batch).toBeDefined();
    const second = await search({
      limit: 2,
      since: first.next_batch,
      filter: { generic_search_term: 'cheese' },
    });
    expect(second.chunk).toHaveLength(1);
    expect(second.next_batch).toBeUndefined();
    expect(second.prev_batch).toBeDefined();
    const all = [...first.chunk, ...second.chunk].map((c: { room_id: string }) => c.room_id);
    expect(new Set(all).size).toBe(3);

    const unfiltered = await search({ limit: 3 });
    expect(unfiltered.chunk).toHaveLength(3);
    expect(unfiltered.next_batch).toBeDefined();
  });

  it('refuses bad paging input', async () => {
    expectRefused(await t.http.get(`${CS}/publicRooms?since=garbage`), 400, 'M_INVALID_PARAM');
    expectRefused(await t.http.get(`${CS}/publicRooms?limit=lots`), 400, 'M_BAD_JSON');
    expectRefused(await bob.post('/publicRooms', { since: 'garbage' }), 400, 'M_INVALID_PARAM');
    expectRefused(await bob.post('/publicRooms', { limit: 'x' }), 400, 'M_BAD_JSON');
    expectRefused(await bob.post('/publicRooms', { filter: { generic_search_term: 5 } }), 400, 'M_BAD_JSON');
    expectRefused(await t.http.post(`${CS}/publicRooms`).send({}), 401, 'M_MISSING_TOKEN');
  });

  it("answers for this server's directory only, named or not", async () => {
    const own = expectStatus(await t.http.get(`${CS}/publicRooms?server=test`), 200);
    expect(own.body.total_room_count_estimate).toBe(5);
    expectStatus(await bob.post('/publicRooms?server=test', {}), 200);
    // Rooms do not federate: another server's directory is an error, not this one's list.
    expectRefused(await t.http.get(`${CS}/publicRooms?server=other.example`), 400, 'M_INVALID_PARAM');
    expectRefused(await bob.post('/publicRooms?server=10.255.255.1', {}), 400, 'M_INVALID_PARAM');
  });

  it('directory/list/room: GET the visibility, PUT it with the power to change the room', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat', name: 'Soon listed' });
    await bob.join(roomId);
    const path = '/directory/list/room/{roomId}';
    const get = expectStatus(await t.http.get(`${CS}/directory/list/room/${enc(roomId)}`), 200);
    expectMatchesSpec(get, 'list_public_rooms.yaml', 'get', path);
    expect(get.body).toEqual({ visibility: 'private' });

    const denied = await bob.put(`/directory/list/room/${enc(roomId)}`, { visibility: 'public' });
    expectRefused(denied, 403, 'M_FORBIDDEN');
    const put = expectStatus(
      await alice.put(`/directory/list/room/${enc(roomId)}`, { visibility: 'public' }),
      200,
    );
    expectMatchesSpec(put, 'list_public_rooms.yaml', 'put', path);
    expect((await t.http.get(`${CS}/directory/list/room/${enc(roomId)}`)).body).toEqual({
      visibility: 'public',
    });
    const listed = (await t.http.get(`${CS}/publicRooms?limit=100`)).body.chunk.map(
      (c: { room_id: string }) => c.room_id,
    );
    expect(listed).toContain(roomId);

    expectStatus(await alice.put(`/directory/list/room/${enc(roomId)}`, { visibility: 'private' }), 200);
    const unlisted = (await t.http.get(`${CS}/publicRooms?limit=100`)).body.chunk.map(
      (c: { room_id: string }) => c.room_id,
    );
    expect(unlisted).not.toContain(roomId);

    expectRefused(
      await alice.put(`/directory/list/room/${enc(roomId)}`, { visibility: 'everyone' }),
      400,
      'M_BAD_JSON',
    );
    expectRefused(await alice.put(`/directory/list/room/${enc(roomId)}`, {}), 400, 'M_BAD_JSON');
    const unknown = await t.http.get(`${CS}/directory/list/room/${enc('!nowhere:test')}`);
    expectRefused(unknown, 404, 'M_NOT_FOUND');
    expectMatchesSpec(unknown, 'list_public_rooms.yaml', 'get', path);
    expectRefused(
      await alice.put(`/directory/list/room/${enc('!nowhere:test')}`, { visibility: 'public' }),
      404,
      'M_NOT_FOUND',
    );
    expectRefused(await t.http.get(`${CS}/directory/list/room/nope`), 400, 'M_INVALID_PARAM');
  });
});
