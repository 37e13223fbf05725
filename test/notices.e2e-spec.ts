import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { silentLogger, unrefLongTimers } from './helpers/sdk-support.js';
import { TestApp, auth, testEnvironment, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

/**
 * Server notices (issue 6), end to end: the admin API sends, matrix-js-sdk receives. The user is
 * invited to a tagged notices room they cannot reject or post in; later notices reuse the room and
 * re-invite a user who left; the PUT form is idempotent, also through a second process on the same
 * database, which also shows a changed notices profile applied at start-up.
 */
const SEND = '/_synapse/admin/v1/send_server_notice';
const BROADCAST = '/_lattice/admin/v1/server_notices/broadcast';

const text = (body: string) => ({ msgtype: 'm.text', body });

describe('server notices', () => {
  const env = testEnvironment();
  let restoreTimers: () => void;
  let t: TestApp;
  let admin: TestUser;
  let bobUser: TestUser;
  let bob: sdk.MatrixClient;
  let noticesUser: string;
  let roomId: string;

  beforeAll(async () => {
    restoreTimers = unrefLongTimers();
    (sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');
    t = await TestApp.start({}, env);
    noticesUser = `@_server:${t.serverName}`;
    admin = await t.registerAdmin('admin');
    bobUser = await t.register('bob');
    bob = sdk.createClient({
      baseUrl: t.baseUrl,
      accessToken: bobUser.accessToken,
      userId: bobUser.userId,
      deviceId: bobUser.deviceId,
      logger: silentLogger,
    });
    const prepared = new Promise<void>((resolve, reject) => {
      bob.on(sdk.ClientEvent.Sync, (state) => {
        if (state === sdk.SyncState.Prepared) resolve();
        if (state === sdk.SyncState.Error) reject(new Error('sync error for bob'));
      });
    });
    await bob.startClient({ initialSyncLimit: 10 });
    await prepared;
  });

  afterAll(async () => {
    bob?.stopClient();
    await t?.close();
    restoreTimers();
  });

  const send = (body: object, as: TestUser = admin) => t.http.post(SEND).set(auth(as)).send(body);
  const put = (txnId: string, body: object, app: TestApp = t) =>
    app.http.put(`${SEND}/${txnId}`).set(auth(admin)).send(body);

  const texts = (id: string) =>
    bob
      .getRoom(id)
      ?.getLiveTimeline()
      .getEvents()
      .filter((e) => e.getType() === 'm.room.message')
      .map((e) => e.getContent().body as string) ?? [];

  const eventCount = async (id: string) =>
    (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM room_events WHERE room_id = $1`, [id]))[0].n;

  async function expectMatrixError(promise: Promise<unknown>, status: number, errcode: string) {
    const err = (await promise.then(
      () => {
        throw new Error(`expected ${status} ${errcode}, the request succeeded`);
      },
      (e: unknown) => e,
    )) as sdk.MatrixError;
    expect({ status: err.httpStatus, errcode: err.errcode }).toEqual({ status, errcode });
  }

  it('creates the notices user at start-up with the configured profile', async () => {
    const res = await t.http.get(`/_matrix/client/v3/profile/${encodeURIComponent(noticesUser)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ displayname: 'Server Alert' });
  });

  it('invites the user to a tagged notices room they cannot reject, join and read', async () => {
    const first = await send({ user_id: bobUser.userId, content: text('Welcome to the server') });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(['event_id']);
    expect(first.body.event_id).toMatch(/^\$/);

    const invited = await waitFor(
      () => bob.getRooms().find((r) => r.getMyMembership() === 'invite'),
      'bob to see the notices invite in sync',
    );
    roomId = invited.roomId;
    expect(invited.name).toBe('Server Alert');
    expect(invited.currentState.getMember(bobUser.userId)?.events.member?.getSender()).toBe(noticesUser);
    expect((await bob.getRoomTags(roomId)).tags).toHaveProperty(['m.server_notice']);

    await expectMatrixError(bob.leave(roomId), 403, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM');

    await bob.joinRoom(roomId);
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === 'join', 'bob to be joined');
    await waitFor(() => texts(roomId).includes('Welcome to the server'), 'bob to read the notice');
    await waitFor(() => bob.getRoom(roomId)?.tags['m.server_notice'], 'the tag to reach the client in sync');

    const room = bob.getRoom(roomId)!;
    const notice = room
      .getLiveTimeline()
      .getEvents()
      .find((e) => e.getId() === first.body.event_id)!;
    expect(notice.getSender()).toBe(noticesUser);
    const state = (type: string) => room.currentState.getStateEvents(type, '')!.getContent();
    expect(state('m.room.create')['m.federate']).toBe(false);
    expect(state('m.room.join_rules').join_rule).toBe('invite');
    expect(state('m.room.power_levels').users).toEqual({ [noticesUser]: 100, [bobUser.userId]: -10 });
  });

  it('does not let the user post in the notices room', async () => {
    await expectMatrixError(bob.sendTextMessage(roomId, 'can I answer?'), 403, 'M_FORBIDDEN');
  });

  it('puts the next notice in the same room, extra content keys and all', async () => {
    const content = {
      msgtype: 'm.server_notice',
      body: 'You have reached your monthly active user limit',
      server_notice_type: 'm.server_notice.usage_limit_reached',
      admin_contact: 'mailto:server.admin@example.org',
      limit_type: 'monthly_active_user',
    };
    const res = await send({ user_id: bobUser.userId, content });
    expect(res.status).toBe(200);
    await waitFor(() => texts(roomId).includes(content.body), 'bob to read the second notice');
    const event = bob
      .getRoom(roomId)!
      .getLiveTimeline()
      .getEvents()
      .find((e) => e.getId() === res.body.event_id)!;
    expect(event.getContent()).toEqual(content);
    expect(bob.getRooms().filter((r) => r.tags['m.server_notice'])).toHaveLength(1);
    expect(await t.sql(`SELECT room_id FROM server_notice_rooms`)).toEqual([{ room_id: roomId }]);
  });

  it('honours type and state_key', async () => {
    const res = await send({
      user_id: bobUser.userId,
      type: 'm.room.topic',
      state_key: '',
      content: { msgtype: 'm.text', body: 'topic notice', topic: 'Read the notices here' },
    });
    expect(res.status).toBe(200);
    await waitFor(
      () =>
        bob.getRoom(roomId)?.currentState.getStateEvents('m.room.topic', '')?.getId() === res.body.event_id,
      'bob to see the topic set by a notice',
    );
    expect(bob.getRoom(roomId)!.currentState.getStateEvents('m.room.topic', '')!.getContent()).toEqual({
      msgtype: 'm.text',
      body: 'topic notice',
      topic: 'Read the notices here',
    });
  });

  it('invites the user again after they left, to the same room', async () => {
    await bob.leave(roomId);
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === 'leave', 'bob to have left');

    const res = await send({ user_id: bobUser.userId, content: text('Back again') });
    expect(res.status).toBe(200);
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === 'invite', 'bob to be invited again');
    await expectMatrixError(bob.leave(roomId), 403, 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM');
    await bob.joinRoom(roomId);
    await waitFor(() => texts(roomId).includes('Back again'), 'bob to read the notice after re-joining');
    expect(await t.sql(`SELECT room_id FROM server_notice_rooms`)).toEqual([{ room_id: roomId }]);
  });

  it('sends a PUT once however often it is repeated', async () => {
    const body = { user_id: bobUser.userId, content: text('Said once') };
    const [a, b] = await Promise.all([put('txn-1', body), put('txn-1', body)]);
    const c = await put('txn-1', body);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect(b.body).toEqual(a.body);
    expect(c.body).toEqual(a.body);
    const other = await put('txn-2', body);
    expect(other.status).toBe(200);
    expect(other.body.event_id).not.toBe(a.body.event_id);
    const rows = await t.sql(
      `SELECT count(*)::int AS n FROM room_events WHERE sender = $1 AND pdu::jsonb->'content'->>'body' = 'Said once'`,
      [noticesUser],
    );
    expect(rows).toEqual([{ n: 2 }]);
  });

  it('refuses what Dendrite refuses, and more', async () => {
    const cases: [string, object, number, string][] = [
      ['no user_id', { content: text('x') }, 400, 'M_BAD_JSON'],
      ['empty user_id', { user_id: '', content: text('x') }, 400, 'M_BAD_JSON'],
      ['no content', { user_id: bobUser.userId }, 400, 'M_BAD_JSON'],
      ['no msgtype', { user_id: bobUser.userId, content: { body: 'x' } }, 400, 'M_BAD_JSON'],
      ['no body', { user_id: bobUser.userId, content: { msgtype: 'm.text' } }, 400, 'M_BAD_JSON'],
      [
        'a number for body',
        { user_id: bobUser.userId, content: { msgtype: 'm.text', body: 5 } },
        400,
        'M_BAD_JSON',
      ],
      [
        'a float in content',
        { user_id: bobUser.userId, content: { ...text('x'), n: 1.5 } },
        400,
        'M_BAD_JSON',
      ],
      ['a malformed user ID', { user_id: 'bob', content: text('x') }, 400, 'M_INVALID_PARAM'],
      ['a room ID', { user_id: '!notauser:test', content: text('x') }, 400, 'M_INVALID_PARAM'],
      ['a remote user', { user_id: '@bob:elsewhere.example', content: text('x') }, 400, 'M_INVALID_PARAM'],
      ['the notices user', { user_id: '@_server:test', content: text('x') }, 400, 'M_INVALID_PARAM'],
      ['an unknown local user', { user_id: '@nobody:test', content: text('x') }, 404, 'M_NOT_FOUND'],
      ['a NUL in type', { user_id: bobUser.userId, type: 'm.\u0000', content: text('x') }, 400, 'M_BAD_JSON'],
      [
        'a long state_key',
        { user_id: bobUser.userId, state_key: 'k'.repeat(256), content: text('x') },
        400,
        'M_BAD_JSON',
      ],
      [
        'a notice too large',
        { user_id: bobUser.userId, content: text('x'.repeat(70_000)) },
        413,
        'M_TOO_LARGE',
      ],
    ];
    for (const [name, body, status, errcode] of cases) {
      for (const res of [await send(body), await put(`bad-${name}`, body)]) {
        expect({ name, status: res.status, errcode: res.body.errcode }).toEqual({ name, status, errcode });
        expect(typeof res.body.error).toBe('string');
      }
    }
    // Refused before anything is done: no room for a user who had none.
    const dave = await t.register('dave');
    const refused = await send({ user_id: dave.userId, content: { ...text('x'), n: 0.5 } });
    expect(refused.status).toBe(400);
    expect(await t.sql(`SELECT room_id FROM server_notice_rooms WHERE user_id = $1`, [dave.userId])).toEqual(
      [],
    );
    for (const txnId of ['a%00b', 'x'.repeat(256)]) {
      const res = await put(txnId, { user_id: bobUser.userId, content: text('x') });
      expect({ status: res.status, errcode: res.body.errcode }).toEqual({
        status: 400,
        errcode: 'M_INVALID_PARAM',
      });
    }
    const broadcastCases: [object, string][] = [
      [{}, 'M_BAD_JSON'],
      [{ content: { msgtype: 'm.text' } }, 'M_BAD_JSON'],
      [{ content: { ...text('x'), n: 0.5 } }, 'M_BAD_JSON'],
      [{ content: text('x'), type: '' }, 'M_BAD_JSON'],
    ];
    for (const [body, errcode] of broadcastCases) {
      const res = await t.http.post(BROADCAST).set(auth(admin)).send(body);
      expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status: 400, errcode });
    }
  });

  it('refuses null for an optional field, and notices that would redact, change a membership or create a room', async () => {
    const before = await eventCount(roomId);
    const erin = await t.register('erin');
    const member = { ...text('x'), membership: 'leave' };
    // [name, notice without user_id, what the error must name]
    const cases: [string, object, RegExp][] = [
      ['a null type', { type: null, content: text('x') }, /\btype\b/],
      ['a null state_key', { state_key: null, content: text('x') }, /\bstate_key\b/],
      ['a null content', { content: null }, /\bcontent\b/],
      ['a redaction without target', { type: 'm.room.redaction', content: text('x') }, /m\.room\.redaction/],
      [
        'a redaction with a target',
        { type: 'm.room.redaction', content: { ...text('x'), redacts: '$event' } },
        /m\.room\.redaction/,
      ],
      [
        "the user's leave",
        { type: 'm.room.member', state_key: bobUser.userId, content: member },
        /m\.room\.member/,
      ],
      [
        "the notices user's leave",
        { type: 'm.room.member', state_key: noticesUser, content: member },
        /m\.room\.member/,
      ],
      ['a member event without state_key', { type: 'm.room.member', content: member }, /m\.room\.member/],
      ['a create event', { type: 'm.room.create', state_key: '', content: text('x') }, /m\.room\.create/],
    ];
    for (const [name, notice, names] of cases) {
      for (const user of [bobUser, erin]) {
        const body = { user_id: user.userId, ...notice };
        for (const res of [await send(body), await put(`refused-${name}-${user.localpart}`, body)]) {
          expect({ name, status: res.status, errcode: res.body.errcode }).toEqual({
            name,
            status: 400,
            errcode: 'M_BAD_JSON',
          });
          expect(res.body.error).toMatch(names);
        }
      }
      const res = await t.http.post(BROADCAST).set(auth(admin)).send(notice);
      expect({ name, status: res.status, errcode: res.body.errcode }).toEqual({
        name,
        status: 400,
        errcode: 'M_BAD_JSON',
      });
      expect(res.body.error).toMatch(names);
    }
    for (const [name, body] of [
      ['a null user_id', { user_id: null, content: text('x') }],
      ['a null msgtype', { user_id: erin.userId, content: { msgtype: null, body: 'x' } }],
      ['a null body', { user_id: erin.userId, content: { msgtype: 'm.text', body: null } }],
    ] as const) {
      for (const res of [await send(body), await put(`refused-${name}`, body)])
        expect({ name, status: res.status, errcode: res.body.errcode }).toEqual({
          name,
          status: 400,
          errcode: 'M_BAD_JSON',
        });
    }

    // Nothing was sent: bob's room has no new event, erin got no room, no broadcast was started.
    expect(await eventCount(roomId)).toBe(before);
    expect(await t.sql(`SELECT room_id FROM server_notice_rooms WHERE user_id = $1`, [erin.userId])).toEqual(
      [],
    );
    const jobs = await t.http.get('/_lattice/admin/v1/jobs?type=ServerNoticeBroadcast').set(auth(admin));
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs).toEqual([]);
  });

  it('still sends other state events and message types', async () => {
    const before = await eventCount(roomId);
    for (const notice of [
      { type: 'org.example.state', state_key: 'k', content: text('custom state') },
      { type: 'org.example.notice', content: text('custom message') },
    ])
      expect((await send({ user_id: bobUser.userId, ...notice })).status).toBe(200);
    expect(await eventCount(roomId)).toBe(before + 2);
  });

  it('is for admins only', async () => {
    const body = { user_id: bobUser.userId, content: text('x') };
    for (const res of [
      await send(body, bobUser),
      await t.http.put(`${SEND}/t`).set(auth(bobUser)).send(body),
      await t.http
        .post(BROADCAST)
        .set(auth(bobUser))
        .send({ content: text('x') }),
    ]) {
      expect({ status: res.status, errcode: res.body.errcode }).toEqual({
        status: 403,
        errcode: 'M_FORBIDDEN',
      });
    }
    const anonymous = await t.http.post(SEND).send(body);
    expect({ status: anonymous.status, errcode: anonymous.body.errcode }).toEqual({
      status: 401,
      errcode: 'M_MISSING_TOKEN',
    });
  });

  describe('with a second process on the same database', () => {
    let t2: TestApp;

    beforeAll(async () => {
      // Started with a new profile for the notices user: it applies that at start-up.
      t2 = await TestApp.start(
        {},
        {
          ...env,
          SERVER_NOTICES_DISPLAY_NAME: 'Notices Bot',
          SERVER_NOTICES_AVATAR_URL: 'mxc://test/notices',
        },
      );
    });

    afterAll(async () => {
      // Only this process stops here; the first one drops the shared database at the end.
      await t2?.stop();
    });

    it('answers a repeated PUT with the first event', async () => {
      const body = { user_id: bobUser.userId, content: text('Once across processes') };
      const a = await put('txn-shared', body, t);
      const b = await put('txn-shared', body, t2);
      expect(a.status).toBe(200);
      expect(b.body).toEqual(a.body);
      const rows = await t.sql(
        `SELECT count(*)::int AS n FROM room_events WHERE sender = $1 AND pdu::jsonb->'content'->>'body' = $2`,
        [noticesUser, 'Once across processes'],
      );
      expect(rows).toEqual([{ n: 1 }]);
    });

    it('makes one room when first notices to a user arrive at once in both processes', async () => {
      const carol = await t.register('carol');
      const results = await Promise.all(
        [t, t2, t, t2, t, t2].map((app, i) =>
          app.http
            .post(SEND)
            .set(auth(admin))
            .send({ user_id: carol.userId, content: text(`hello ${i}`) }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const rooms = await t.sql<{ room_id: string }>(
        `SELECT DISTINCT room_id FROM room_events WHERE sender = $1 AND type = 'm.room.message'
           AND pdu::jsonb->'content'->>'body' LIKE 'hello %'`,
        [noticesUser],
      );
      expect(rooms).toHaveLength(1);
      expect(
        await t.sql(`SELECT room_id FROM server_notice_rooms WHERE user_id = $1`, [carol.userId]),
      ).toEqual(rooms);
      const invites = await t.sql(
        `SELECT count(*)::int AS n FROM room_events WHERE type = 'm.room.member' AND state_key = $1`,
        [carol.userId],
      );
      expect(invites).toEqual([{ n: 1 }]);
    });

    it('applies a changed notices profile at start-up, in the member events too', async () => {
      const profile = await t.http.get(`/_matrix/client/v3/profile/${encodeURIComponent(noticesUser)}`);
      expect(profile.body).toEqual({ displayname: 'Notices Bot', avatar_url: 'mxc://test/notices' });
      await waitFor(
        () => bob.getRoom(roomId)?.getMember(noticesUser)?.name === 'Notices Bot',
        "bob to see the notices user's new name",
      );
      const member = await t.http
        .get(
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(noticesUser)}`,
        )
        .set(auth(bobUser));
      expect(member.body).toEqual({
        membership: 'join',
        displayname: 'Notices Bot',
        avatar_url: 'mxc://test/notices',
      });
    });
  });
});

describe('server notices switched off', () => {
  let t: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    t = await TestApp.start({ SERVER_NOTICES_ENABLED: 'false' });
    admin = await t.registerAdmin('admin');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers 400 M_UNKNOWN saying so, whatever the body', async () => {
    const body = { user_id: admin.userId, content: text('x') };
    for (const res of [
      await t.http.post(SEND).set(auth(admin)).send(body),
      await t.http.put(`${SEND}/t1`).set(auth(admin)).send({}),
      await t.http
        .post(BROADCAST)
        .set(auth(admin))
        .send({ content: text('x') }),
    ]) {
      expect({ status: res.status, errcode: res.body.errcode }).toEqual({
        status: 400,
        errcode: 'M_UNKNOWN',
      });
      expect(res.body.error).toMatch(/not enabled/);
    }
  });

  it('creates no notices user', async () => {
    expect(await t.sql(`SELECT localpart FROM userapi_accounts WHERE localpart = '_server'`)).toEqual([]);
  });
});
