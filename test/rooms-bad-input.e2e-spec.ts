import request from 'supertest';
import { describeRoute, fillPath, listRoutes } from './helpers/routes.js';
import { CS, RoomClient, client, expectStatus, txn } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';

/**
 * Bad input the generic route walk (bad-input.e2e-spec.ts) cannot make up: malformed room IDs,
 * aliases and user IDs in paths and bodies, floats and NUL characters in event content,
 * oversized events, unknown pagination tokens. Every answer is a Matrix 4xx, never a 500.
 */
describe('rooms and sync: bad input', () => {
  let t: TestApp;
  let alice: RoomClient;
  let roomId: string;
  let eventId: string;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    roomId = await alice.createRoom({ preset: 'public_chat' });
    eventId = await alice.send(roomId, 'hello');
  });
  afterAll(async () => {
    await t.close();
  });

  let logged = 0;
  beforeEach(() => {
    logged = t.logs.lines.length;
  });
  afterEach(() => {
    // A 500 logs an error; none may have happened.
    expect(
      t.logs.lines
        .slice(logged)
        .filter((l) => l.level >= 50)
        .map((l) => l.msg),
    ).toEqual([]);
  });

  const expectError = (res: request.Response, status: number, errcode: string, what: string) =>
    expect([what, res.status, res.body.errcode]).toEqual([what, status, errcode]);

  const BAD_ROOM_IDS = [
    'not-a-room',
    '!',
    '!nocolon',
    '!a:bad server',
    `!${'a'.repeat(300)}:test`,
    '#alias:test',
    '!a\0b:test',
  ];

  it('answers malformed room IDs in the path of every room route with 400 M_INVALID_PARAM', async () => {
    const routes = listRoutes(t.app).filter(
      (r) => r.pattern.startsWith('/_matrix/client/v3/') && /:roomId\b/.test(r.pattern),
    );
    expect(routes.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const route of routes) {
      for (const bad of BAD_ROOM_IDS) {
        const path = fillPath(route, {
          roomId: bad,
          userId: alice.userId,
          eventId,
          eventType: 'm.room.message',
          txnId: txn(),
          type: 'org.example',
          tag: 'm.favourite',
          receiptType: 'm.read',
          stateKey: 'x',
        });
        const agent = request(t.app.getHttpServer());
        const res = await agent[route.method](path)
          .set('Authorization', `Bearer ${alice.user.accessToken}`)
          .send(
            route.method === 'get' || route.method === 'delete'
              ? undefined
              : { user_id: alice.userId, typing: true, visibility: 'public', body: 'x' },
          );
        if (res.status !== 400 || res.body.errcode !== 'M_INVALID_PARAM')
          wrong.push(`${describeRoute(route)} with ${JSON.stringify(bad)}: ${res.status} ${res.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers malformed room IDs and aliases in /join with 400, unknown ones with 404', async () => {
    for (const bad of [
      'nothing',
      '!',
      '#',
      '#:test',
      '#nocolon',
      '#a:bad server',
      '#a\0b:test',
      `#${'a'.repeat(300)}:test`,
    ]) {
      expectError(await alice.post(`/join/${encodeURIComponent(bad)}`), 400, 'M_INVALID_PARAM', bad);
    }
    expectError(
      await alice.post(`/join/${encodeURIComponent('#unknown:test')}`),
      404,
      'M_NOT_FOUND',
      '#unknown',
    );
    expectError(
      await alice.post(`/join/${encodeURIComponent('!unknown:test')}`),
      404,
      'M_NOT_FOUND',
      '!unknown',
    );
  });

  it('answers malformed aliases in the directory with 400', async () => {
    for (const bad of ['nothing', '#', '#nocolon', '#a:bad server', '#a\0b:test']) {
      const path = `/directory/room/${encodeURIComponent(bad)}`;
      expectError(await alice.get(path), 400, 'M_INVALID_PARAM', `GET ${bad}`);
      expectError(await alice.put(path, { room_id: roomId }), 400, 'M_INVALID_PARAM', `PUT ${bad}`);
      expectError(await alice.delete(path), 400, 'M_INVALID_PARAM', `DELETE ${bad}`);
    }
  });

  it('answers malformed user IDs in bodies with 400', async () => {
    for (const bad of [
      'bob',
      '@',
      '@:test',
      '@bob',
      '@bob:',
      '@bob:bad server',
      `@${'b'.repeat(300)}:test`,
      '@b\0b:test',
    ]) {
      for (const action of ['invite', 'kick', 'ban', 'unban']) {
        expectError(
          await alice.post(`/rooms/${roomId}/${action}`, { user_id: bad }),
          400,
          'M_INVALID_PARAM',
          `${action} ${bad}`,
        );
      }
      expectError(
        await alice.post('/createRoom', { invite: [bad] }),
        400,
        'M_INVALID_PARAM',
        `createRoom ${bad}`,
      );
    }
    for (const body of [
      { user_id: 5 },
      { user_id: null },
      { user_id: ['@a:test'] },
      { user_id: '@a:test', reason: 5 },
    ]) {
      expectError(await alice.post(`/rooms/${roomId}/invite`, body), 400, 'M_BAD_JSON', JSON.stringify(body));
    }
  });

  it('answers user IDs of others in user paths with 403', async () => {
    expectError(
      await alice.post(`/user/${encodeURIComponent('@bob:test')}/filter`, {}),
      403,
      'M_FORBIDDEN',
      'filter',
    );
    expectError(
      await alice.get(`/user/${encodeURIComponent('not-a-user')}/filter/1`),
      403,
      'M_FORBIDDEN',
      'get filter',
    );
    expectError(
      await alice.put(`/rooms/${roomId}/typing/${encodeURIComponent('not-a-user')}`, { typing: true }),
      403,
      'M_FORBIDDEN',
      'typing',
    );
  });

  it('refuses floats, out-of-range integers and non-objects in content with M_BAD_JSON', async () => {
    for (const content of [
      { n: 1.5 },
      { nested: { deeper: [1, 2, 0.25] } },
      { big: 2 ** 60 },
      { small: -(2 ** 60) },
    ]) {
      expectError(await alice.sendRaw(roomId, content), 400, 'M_BAD_JSON', `send ${JSON.stringify(content)}`);
      expectError(
        await alice.stateRaw(roomId, 'org.example.state', content),
        400,
        'M_BAD_JSON',
        `state ${JSON.stringify(content)}`,
      );
    }
    // JSON's 1.0 and 1e2 are integers once parsed; they are allowed.
    const res = await alice.t.http
      .put(`${CS}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn()}`)
      .set('Authorization', `Bearer ${alice.user.accessToken}`)
      .set('Content-Type', 'application/json')
      .send('{"n": 1.0, "m": 1e2, "body": "x", "msgtype": "m.text"}');
    expectStatus(res, 200);
  });

  it('refuses oversized events with 413 M_TOO_LARGE, and over-long types and state keys with 400', async () => {
    const big = 'x'.repeat(70_000);
    expectError(await alice.sendRaw(roomId, { msgtype: 'm.text', body: big }), 413, 'M_TOO_LARGE', 'message');
    expectError(await alice.stateRaw(roomId, 'org.example.big', { big }), 413, 'M_TOO_LARGE', 'state');
    expectError(
      await alice.put(`/rooms/${roomId}/redact/${eventId}/${txn()}`, { reason: big }),
      400,
      'M_BAD_JSON',
      'reason',
    );
    expectError(await alice.sendRaw(roomId, {}, 't'.repeat(256)), 400, 'M_BAD_JSON', 'type');
    expectError(
      await alice.stateRaw(roomId, 'org.example', {}, 'k'.repeat(256)),
      400,
      'M_BAD_JSON',
      'state key',
    );
    // Nothing of it was stored.
    const [row] = await t.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM room_events WHERE length(pdu) > 65536`,
    );
    expect(row.n).toBe(0);
    // Just under the limit is fine.
    expectStatus(await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'y'.repeat(60_000) }), 200);
  });

  it('refuses NUL characters where PostgreSQL cannot store them, and stores them where it can', async () => {
    expectError(await alice.sendRaw(roomId, {}, 'org.ex\0ample'), 400, 'M_BAD_JSON', 'type');
    expectError(await alice.stateRaw(roomId, 'org.example', {}, 'a\0b'), 400, 'M_BAD_JSON', 'state key');
    expectError(
      await alice.sendRaw(roomId, { body: 'x' }, 'm.room.message', 'txn\0id'),
      400,
      'M_INVALID_PARAM',
      'txn',
    );
    expectError(
      await alice.stateRaw(
        roomId,
        'm.room.member',
        { membership: 'join', displayname: 'a\0b' },
        alice.userId,
      ),
      400,
      'M_BAD_JSON',
      'displayname',
    );
    expectError(
      await alice.post(`/user/${alice.userId}/filter`, { room: { rooms: ['a\0b'] } }),
      400,
      'M_BAD_JSON',
      'filter',
    );
    expectError(
      await alice.post(`/rooms/${roomId}/receipt/m.read/${eventId}`, { thread_id: 'a\0b' }),
      400,
      'M_BAD_JSON',
      'thread',
    );
    expectError(
      await alice.post('/createRoom', { initial_state: [{ type: 'a\0b', content: {} }] }),
      400,
      'M_BAD_JSON',
      'initial_state',
    );
    // Inside ordinary content a NUL is just a character of a string.
    const ok = expectStatus(await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'nul \0 inside' }), 200);
    const event = expectStatus(await alice.get(`/rooms/${roomId}/event/${ok.body.event_id}`), 200);
    expect(event.body.content.body).toBe('nul \0 inside');
  });

  it('reads stored events whose content holds NUL, or spells out "\\u0000", everywhere', async () => {
    // PostgreSQL's json refuses a \u0000 escape anywhere in a document: member events read in SQL
    // (who shares a room with whom) and the search index's reads must not trip over one.
    const bob = await client(t, `nulbob${Date.now()}`);
    const room = await alice.createRoom({ preset: 'public_chat' });
    const since = (await alice.sync({ timeout: 0 })).next_batch;
    expectStatus(await bob.post(`/rooms/${encodeURIComponent(room)}/join`, { reason: 'hi\0there' }), 200);
    await bob.send(room, 'zebranul \0 crossing');
    await bob.send(room, 'zebraslash \\u0000 spelled out');

    const sync = expectStatus(await alice.syncRaw({ since, timeout: 0 }), 200).body;
    expect(
      sync.rooms.join[room].timeline.events.map((e: { content: { body?: string } }) => e.content.body),
    ).toEqual(expect.arrayContaining(['zebranul \0 crossing', 'zebraslash \\u0000 spelled out']));
    expect(sync.device_lists.changed).toContain(bob.userId);
    const changes = expectStatus(await alice.get(`/keys/changes?from=${since}&to=${sync.next_batch}`), 200);
    expect(changes.body.changed).toContain(bob.userId);
    for (const word of ['zebranul', 'zebraslash']) {
      const found = expectStatus(
        await alice.post('/search', { search_categories: { room_events: { search_term: word } } }),
        200,
      );
      expect([word, found.body.search_categories.room_events.count]).toEqual([word, 1]);
    }
  });

  it('refuses lone UTF-16 surrogates (no character, no UTF-8 form) in any body with 400 M_BAD_JSON', async () => {
    const lone = 'x\ud800y';
    const cases: [string, request.Response][] = [
      ['send', await alice.sendRaw(roomId, { msgtype: 'm.text', body: lone })],
      ['state', await alice.stateRaw(roomId, 'm.room.topic', { topic: lone })],
      ['account data', await alice.put(`/user/${alice.userId}/account_data/org.example`, { a: lone })],
      ['account data key', await alice.put(`/user/${alice.userId}/account_data/org.example`, { [lone]: 1 })],
      [
        'room account data',
        await alice.put(
          `/user/${alice.userId}/rooms/${encodeURIComponent(roomId)}/account_data/org.example`,
          [lone],
        ),
      ],
      [
        'tag',
        await alice.put(`/user/${alice.userId}/rooms/${encodeURIComponent(roomId)}/tags/u.x`, {
          order: 0.5,
          x: lone,
        }),
      ],
      ['filter', await alice.post(`/user/${alice.userId}/filter`, { event_fields: [lone] })],
      ['keys', await alice.post('/keys/upload', { device_keys: { algorithms: ['a\udc00'] } })],
      ['createRoom alias', await alice.post('/createRoom', { room_alias_name: lone })],
    ];
    for (const [what, res] of cases) expectError(res, 400, 'M_BAD_JSON', what);
    // A pair is a character like any other, escaped or not.
    const pair = expectStatus(
      await alice.sendRaw(roomId, { msgtype: 'm.text', body: 'smile \ud83d\ude00' }),
      200,
    );
    const event = expectStatus(
      await alice.get(`/rooms/${encodeURIComponent(roomId)}/event/${pair.body.event_id}`),
      200,
    );
    expect(event.body.content.body).toBe('smile 😀');
  });

  it('answers unknown or malformed tokens with 400 M_INVALID_PARAM', async () => {
    for (const token of ['garbage', 's', 's-1', 's1.5', 'S1', 's1x', `s${'9'.repeat(30)}`]) {
      expectError(await alice.messages(roomId, { from: token }), 400, 'M_INVALID_PARAM', `from ${token}`);
      expectError(await alice.messages(roomId, { to: token }), 400, 'M_INVALID_PARAM', `to ${token}`);
      expectError(await alice.syncRaw({ since: token }), 400, 'M_INVALID_PARAM', `since ${token}`);
      expectError(
        await alice.get(`/rooms/${roomId}/members?at=${encodeURIComponent(token)}`),
        400,
        'M_INVALID_PARAM',
        `at ${token}`,
      );
      expectError(
        await alice.get(`/publicRooms?since=${encodeURIComponent(token)}`),
        400,
        'M_INVALID_PARAM',
        `publicRooms ${token}`,
      );
    }
  });

  it('answers unknown event IDs with 404', async () => {
    for (const bad of ['$unknown', 'no-dollar', '$']) {
      const id = encodeURIComponent(bad);
      expectError(await alice.get(`/rooms/${roomId}/event/${id}`), 404, 'M_NOT_FOUND', `event ${bad}`);
      expectError(
        await alice.put(`/rooms/${roomId}/redact/${id}/${txn()}`),
        404,
        'M_NOT_FOUND',
        `redact ${bad}`,
      );
      expectError(
        await alice.post(`/rooms/${roomId}/receipt/m.read/${id}`),
        404,
        'M_NOT_FOUND',
        `receipt ${bad}`,
      );
    }
  });

  it('refuses malformed query parameters', async () => {
    for (const [path, what] of [
      [`/rooms/${roomId}/messages?dir=sideways`, 'dir'],
      [`/rooms/${roomId}/messages?limit=-3`, 'limit'],
      [`/rooms/${roomId}/messages?limit=1.5`, 'float limit'],
      [`/rooms/${roomId}/members?membership=everyone`, 'membership'],
      ['/sync?timeout=-1', 'timeout'],
      ['/sync?timeout=1.5', 'float timeout'],
      ['/sync?set_presence=busy', 'presence'],
      ['/publicRooms?limit=-1', 'publicRooms limit'],
    ]) {
      expectError(await alice.get(path), 400, 'M_BAD_JSON', what);
    }
  });

  it('refuses wrong-typed typing, receipt and createRoom bodies', async () => {
    for (const body of [
      { typing: 'yes' },
      { typing: true, timeout: 'long' },
      { typing: true, timeout: 1.5 },
    ]) {
      expectError(
        await alice.put(`/rooms/${roomId}/typing/${alice.userId}`, body),
        400,
        'M_BAD_JSON',
        JSON.stringify(body),
      );
    }
    expectError(
      await alice.post(`/rooms/${roomId}/receipt/m.read/${eventId}`, { thread_id: [] }),
      400,
      'M_BAD_JSON',
      'thread',
    );
    expectError(
      await alice.post(`/rooms/${roomId}/receipt/m.read/${eventId}`, { thread_id: '' }),
      400,
      'M_INVALID_PARAM',
      'empty thread',
    );
    for (const body of [
      { initial_state: [{ type: 'x', content: 'x' }] },
      { initial_state: [{ type: 'x', state_key: 5, content: {} }] },
      { creation_content: [] },
      { power_level_content_override: 'all' },
      { room_alias_name: 5 },
      { topic: { text: 'x' } },
      { invite_3pid: [{ medium: 'email' }] },
    ]) {
      expectError(await alice.post('/createRoom', body), 400, 'M_BAD_JSON', JSON.stringify(body));
    }
  });
});
