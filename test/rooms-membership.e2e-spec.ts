import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';

/** Joining, inviting, leaving, kicking, banning, forgetting; who is in a room; profile changes. */
describe('membership', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  let carol: RoomClient;

  beforeAll(async () => {
    t = await TestApp.start();
    [alice, bob, carol] = await Promise.all([client(t, 'alice'), client(t, 'bob'), client(t, 'carol')]);
  });
  afterAll(async () => {
    await t.close();
  });

  const membershipOf = async (roomId: string, userId: string) =>
    (await alice.get(`/rooms/${roomId}/state/m.room.member/${userId}`)).body.membership;

  function expectRefused(
    res: { status: number; body: { errcode?: string; error?: string } },
    status: number,
    errcode: string,
    reason?: RegExp,
  ) {
    expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status, errcode });
    if (reason) expect(res.body.error).toMatch(reason);
  }

  describe('join', () => {
    it('joins a public room by ID, by alias, and through /rooms/{roomId}/join', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat', room_alias_name: 'pub' });
      const byId = await bob.post(`/join/${roomId}`);
      expectMatchesSpec(expectStatus(byId, 200), 'joining.yaml', 'post', '/join/{roomIdOrAlias}');
      expect(byId.body).toEqual({ room_id: roomId });
      const byAlias = await carol.post(`/join/${encodeURIComponent('#pub:test')}`);
      expect(expectStatus(byAlias, 200).body).toEqual({ room_id: roomId });
      const other = await alice.createRoom({ preset: 'public_chat' });
      const direct = await bob.post(`/rooms/${other}/join`, { reason: 'hello' });
      expectMatchesSpec(expectStatus(direct, 200), 'joining.yaml', 'post', '/rooms/{roomId}/join');
      expect((await alice.get(`/rooms/${other}/state/m.room.member/${bob.userId}`)).body).toMatchObject({
        membership: 'join',
        reason: 'hello',
      });
    });

    it('joining again is harmless and writes no new event', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const [before] = await t.sql(`SELECT count(*)::int AS n FROM room_events WHERE room_id = $1`, [roomId]);
      await bob.join(roomId);
      expect(await t.sql(`SELECT count(*)::int AS n FROM room_events WHERE room_id = $1`, [roomId])).toEqual([
        before,
      ]);
    });

    it('refuses an invite-only room without an invite (403 with the reason)', async () => {
      const roomId = await alice.createRoom({ preset: 'private_chat' });
      const res = await bob.post(`/join/${roomId}`);
      expectRefused(res, 403, 'M_FORBIDDEN', /invite/);
      expectMatchesSpec(res, 'joining.yaml', 'post', '/join/{roomIdOrAlias}');
    });

    it('answers unknown rooms and aliases with 404, malformed ones with 400', async () => {
      expectRefused(await bob.post('/join/!nowhere:test'), 404, 'M_NOT_FOUND');
      expectRefused(await bob.post(`/join/${encodeURIComponent('#nowhere:test')}`), 404, 'M_NOT_FOUND');
      expectRefused(await bob.post('/join/nowhere'), 400, 'M_INVALID_PARAM');
      expectRefused(await bob.post(`/join/${encodeURIComponent('#no-server')}`), 400, 'M_INVALID_PARAM');
      expectRefused(await bob.post('/rooms/not-a-room/join'), 400, 'M_INVALID_PARAM');
    });
  });

  describe('invite', () => {
    it('invites; inviting again is 200; the invitee joins', async () => {
      const roomId = await alice.createRoom();
      const res = await alice.post(`/rooms/${roomId}/invite`, { user_id: bob.userId, reason: 'lunch?' });
      expectMatchesSpec(expectStatus(res, 200), 'inviting.yaml', 'post', '/rooms/{roomId}/invite ');
      expect((await alice.get(`/rooms/${roomId}/state/m.room.member/${bob.userId}`)).body).toMatchObject({
        membership: 'invite',
        reason: 'lunch?',
      });
      expectStatus(await alice.post(`/rooms/${roomId}/invite`, { user_id: bob.userId }), 200);
      await bob.join(roomId);
      expect(await membershipOf(roomId, bob.userId)).toBe('join');
    });

    it('refuses inviters who are not joined, and joined or banned invitees', async () => {
      const roomId = await alice.createRoom({
        preset: 'public_chat',
        power_level_content_override: { invite: 0 },
      });
      expectRefused(
        await carol.post(`/rooms/${roomId}/invite`, { user_id: bob.userId }),
        403,
        'M_FORBIDDEN',
        /not joined/,
      );
      await bob.join(roomId);
      expectRefused(
        await alice.post(`/rooms/${roomId}/invite`, { user_id: bob.userId }),
        403,
        'M_FORBIDDEN',
        /already in the room/,
      );
      expectStatus(await alice.post(`/rooms/${roomId}/ban`, { user_id: carol.userId }), 200);
      expectRefused(
        await bob.post(`/rooms/${roomId}/invite`, { user_id: carol.userId }),
        403,
        'M_FORBIDDEN',
        /banned/,
      );
    });

    it('refuses inviters below the invite level', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const res = await bob.post(`/rooms/${roomId}/invite`, { user_id: carol.userId });
      expectRefused(res, 403, 'M_FORBIDDEN', /power level/);
      expectMatchesSpec(res, 'inviting.yaml', 'post', '/rooms/{roomId}/invite ');
    });

    it('refuses unknown users (404) and malformed user IDs (400)', async () => {
      const roomId = await alice.createRoom();
      expectRefused(
        await alice.post(`/rooms/${roomId}/invite`, { user_id: '@ghost:test' }),
        404,
        'M_NOT_FOUND',
      );
      expectRefused(
        await alice.post(`/rooms/${roomId}/invite`, { user_id: 'ghost' }),
        400,
        'M_INVALID_PARAM',
      );
      expectRefused(await alice.post(`/rooms/${roomId}/invite`, {}), 400, 'M_BAD_JSON');
      expectRefused(await alice.post(`/rooms/${roomId}/invite`, { user_id: 5 }), 400, 'M_BAD_JSON');
    });
  });

  describe('leave', () => {
    it('rejects an invite and leaves a joined room', async () => {
      const roomId = await alice.createRoom({ invite: [bob.userId, carol.userId] });
      const res = await bob.post(`/rooms/${roomId}/leave`);
      expectMatchesSpec(expectStatus(res, 200), 'leaving.yaml', 'post', '/rooms/{roomId}/leave');
      expect(await membershipOf(roomId, bob.userId)).toBe('leave');
      await carol.join(roomId);
      await carol.leave(roomId);
      expect(await membershipOf(roomId, carol.userId)).toBe('leave');
    });

    it('refuses leaving a room one is not in', async () => {
      const roomId = await alice.createRoom();
      expectRefused(await bob.post(`/rooms/${roomId}/leave`), 403, 'M_FORBIDDEN');
      expectRefused(await bob.post('/rooms/!nowhere:test/leave'), 404, 'M_NOT_FOUND');
    });
  });

  describe('kick, ban, unban', () => {
    let roomId: string;
    beforeEach(async () => {
      roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      await carol.join(roomId);
    });

    it('kicks with a reason; the kicked user may come back to a public room', async () => {
      const res = await alice.post(`/rooms/${roomId}/kick`, { user_id: bob.userId, reason: 'too loud' });
      expectMatchesSpec(expectStatus(res, 200), 'kicking.yaml', 'post', '/rooms/{roomId}/kick');
      const event = (await alice.get(`/rooms/${roomId}/state/m.room.member/${bob.userId}?format=event`)).body;
      expect(event).toMatchObject({
        sender: alice.userId,
        content: { membership: 'leave', reason: 'too loud' },
      });
      await bob.join(roomId);
    });

    it('refuses kicks below the kick level or of equal or higher users, and of users not in the room', async () => {
      expectRefused(
        await bob.post(`/rooms/${roomId}/kick`, { user_id: carol.userId }),
        403,
        'M_FORBIDDEN',
        /power level/,
      );
      expectRefused(
        await bob.post(`/rooms/${roomId}/kick`, { user_id: alice.userId }),
        403,
        'M_FORBIDDEN',
        /power level/,
      );
      await bob.leave(roomId);
      const res = await alice.post(`/rooms/${roomId}/kick`, { user_id: bob.userId });
      expectRefused(res, 403, 'M_FORBIDDEN', /not in the room/);
    });

    it('bans (also kicking), keeps the banned user out, and unbans', async () => {
      const res = await alice.post(`/rooms/${roomId}/ban`, { user_id: bob.userId, reason: 'spam' });
      expectMatchesSpec(expectStatus(res, 200), 'banning.yaml', 'post', '/rooms/{roomId}/ban');
      expect(await membershipOf(roomId, bob.userId)).toBe('ban');
      expectRefused(await bob.post(`/join/${roomId}`), 403, 'M_FORBIDDEN', /banned/);
      expectRefused(await bob.post(`/rooms/${roomId}/leave`), 403, 'M_FORBIDDEN');
      expectRefused(await bob.sendRaw(roomId, { body: 'x', msgtype: 'm.text' }), 403, 'M_FORBIDDEN');

      const unban = await alice.post(`/rooms/${roomId}/unban`, { user_id: bob.userId });
      expectMatchesSpec(expectStatus(unban, 200), 'banning.yaml', 'post', '/rooms/{roomId}/unban');
      expect(await membershipOf(roomId, bob.userId)).toBe('leave');
      await bob.join(roomId);
    });

    it('bans users who were never in the room', async () => {
      const dave = await client(t, `dave${Date.now() % 100000}`);
      expectStatus(await alice.post(`/rooms/${roomId}/ban`, { user_id: dave.userId }), 200);
      expectRefused(await dave.post(`/join/${roomId}`), 403, 'M_FORBIDDEN', /banned/);
    });

    it('refuses bans and unbans without the levels', async () => {
      expectRefused(
        await bob.post(`/rooms/${roomId}/ban`, { user_id: carol.userId }),
        403,
        'M_FORBIDDEN',
        /power level/,
      );
      expectStatus(await alice.post(`/rooms/${roomId}/ban`, { user_id: carol.userId }), 200);
      expectRefused(
        await bob.post(`/rooms/${roomId}/unban`, { user_id: carol.userId }),
        403,
        'M_FORBIDDEN',
        /power level/,
      );
      expectRefused(
        await alice.post(`/rooms/${roomId}/unban`, { user_id: bob.userId }),
        403,
        'M_FORBIDDEN',
        /not banned/,
      );
    });

    it('needs a valid user_id', async () => {
      for (const path of ['kick', 'ban', 'unban']) {
        expectRefused(
          await alice.post(`/rooms/${roomId}/${path}`, { user_id: 'bob' }),
          400,
          'M_INVALID_PARAM',
        );
        expectRefused(await alice.post(`/rooms/${roomId}/${path}`, {}), 400, 'M_BAD_JSON');
      }
    });
  });

  describe('forget', () => {
    it('refuses while joined, forgets after leaving, 404 for rooms never joined', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.join(roomId);
      const joined = await bob.post(`/rooms/${roomId}/forget`);
      expect({ status: joined.status, errcode: joined.body.errcode }).toEqual({
        status: 400,
        errcode: 'M_UNKNOWN',
      });
      await bob.leave(roomId);
      // js-sdk sends no body at all.
      const res = await bob.t.http
        .post(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/forget`)
        .set('Authorization', `Bearer ${bob.user.accessToken}`);
      expectMatchesSpec(expectStatus(res, 200), 'leaving.yaml', 'post', '/rooms/{roomId}/forget');
      const sync = await bob.sync({ filter: JSON.stringify({ room: { include_leave: true } }) });
      expect(sync.rooms.leave[roomId]).toBeUndefined();
      expectRefused(await carol.post(`/rooms/${roomId}/forget`), 404, 'M_NOT_FOUND');
      expectRefused(await carol.post('/rooms/nope/forget'), 400, 'M_INVALID_PARAM');
    });
  });

  describe('who is in a room', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = await alice.createRoom({ preset: 'public_chat', invite: [carol.userId] });
      await bob.join(roomId);
    });

    it('GET /joined_rooms lists joined rooms only', async () => {
      const res = await bob.get('/joined_rooms');
      expectMatchesSpec(expectStatus(res, 200), 'list_joined_rooms.yaml', 'get', '/joined_rooms');
      expect(res.body.joined_rooms).toContain(roomId);
      expect((await carol.get('/joined_rooms')).body.joined_rooms).not.toContain(roomId);
    });

    it('GET /members with membership filters', async () => {
      const all = await bob.get(`/rooms/${roomId}/members`);
      expectMatchesSpec(expectStatus(all, 200), 'rooms.yaml', 'get', '/rooms/{roomId}/members');
      const who = (res: { body: { chunk: { state_key: string }[] } }) =>
        res.body.chunk.map((e) => e.state_key).sort();
      expect(who(all)).toEqual([alice.userId, bob.userId, carol.userId].sort());
      expect(who(await bob.get(`/rooms/${roomId}/members?membership=join`))).toEqual(
        [alice.userId, bob.userId].sort(),
      );
      expect(who(await bob.get(`/rooms/${roomId}/members?membership=invite`))).toEqual([carol.userId]);
      expect(who(await bob.get(`/rooms/${roomId}/members?not_membership=invite`))).toEqual(
        [alice.userId, bob.userId].sort(),
      );
      expectRefused(await bob.get(`/rooms/${roomId}/members?membership=wizard`), 400, 'M_BAD_JSON');
    });

    it('GET /members?at= gives the members at that point', async () => {
      const room = await alice.createRoom({ preset: 'public_chat' });
      const before = (await alice.sync()).next_batch;
      await bob.join(room);
      const res = expectStatus(await alice.get(`/rooms/${room}/members?at=${before}`), 200);
      expect(res.body.chunk.map((e: { state_key: string }) => e.state_key)).toEqual([alice.userId]);
      expectRefused(await alice.get(`/rooms/${room}/members?at=garbage`), 400, 'M_INVALID_PARAM');
    });

    it('GET /members is refused to users never in the room', async () => {
      const dave = await client(t, 'dave');
      const res = await dave.get(`/rooms/${roomId}/members`);
      expectRefused(res, 403, 'M_FORBIDDEN');
      expectMatchesSpec(res, 'rooms.yaml', 'get', '/rooms/{roomId}/members');
    });

    it('GET /joined_members', async () => {
      const res = await bob.get(`/rooms/${roomId}/joined_members`);
      expectMatchesSpec(expectStatus(res, 200), 'rooms.yaml', 'get', '/rooms/{roomId}/joined_members');
      expect(Object.keys(res.body.joined).sort()).toEqual([alice.userId, bob.userId].sort());
      expectRefused(await carol.get(`/rooms/${roomId}/joined_members`), 403, 'M_FORBIDDEN');
      expectRefused(await carol.get(`/rooms/!nowhere:test/joined_members`), 404, 'M_NOT_FOUND');
    });
  });

  describe('profile changes', () => {
    it('re-sends the member event in every joined room, and not in rooms left', async () => {
      const erin = await client(t, 'erin');
      const [r1, r2, left] = await Promise.all([
        alice.createRoom({ preset: 'public_chat' }),
        alice.createRoom({ preset: 'public_chat' }),
        alice.createRoom({ preset: 'public_chat' }),
      ]);
      for (const r of [r1, r2, left]) await erin.join(r);
      await erin.leave(left);
      const res = await erin.put(`/profile/${erin.userId}/displayname`, { displayname: 'Erin E.' });
      expectStatus(res, 200);
      for (const r of [r1, r2]) {
        const member = (await alice.get(`/rooms/${r}/state/m.room.member/${erin.userId}?format=event`)).body;
        expect(member.content).toEqual({ membership: 'join', displayname: 'Erin E.' });
        expect(member.unsigned.prev_content).toEqual({ membership: 'join', displayname: 'erin' });
        const joined = (await alice.get(`/rooms/${r}/joined_members`)).body.joined;
        expect(joined[erin.userId]).toEqual({ display_name: 'Erin E.' });
      }
      expect((await alice.get(`/rooms/${left}/state/m.room.member/${erin.userId}`)).body).toEqual({
        membership: 'leave',
      });
      // Later joins carry the profile.
      const r3 = await alice.createRoom({ preset: 'public_chat' });
      await erin.join(r3);
      expect((await alice.get(`/rooms/${r3}/state/m.room.member/${erin.userId}`)).body).toEqual({
        membership: 'join',
        displayname: 'Erin E.',
      });
    });

    it('never undoes a leave that races it, and ends with the last profile in every room', async () => {
      const gus = await client(t, 'gus');
      const rooms = await Promise.all(
        Array.from({ length: 8 }, () => alice.createRoom({ preset: 'public_chat' })),
      );
      for (const r of rooms) await gus.join(r);
      const rename = (name: string) => gus.put(`/profile/${gus.userId}/displayname`, { displayname: name });
      // Leaving every room while two renames re-send member events into them.
      const answers = await Promise.all([
        rename('Gus A'),
        ...rooms.map((r) => gus.post(`/rooms/${r}/leave`)),
        rename('Gus B'),
      ]);
      for (const res of answers) expectStatus(res, 200);
      const memberships = await Promise.all(
        rooms.map(
          async (r) => (await alice.get(`/rooms/${r}/state/m.room.member/${gus.userId}`)).body.membership,
        ),
      );
      expect(memberships).toEqual(rooms.map(() => 'leave'));

      // Concurrent renames: the profile and every room agree on the last one.
      const kept = rooms.slice(0, 4);
      for (const r of kept) await gus.join(r);
      const names = ['N0', 'N1', 'N2', 'N3', 'N4', 'N5'];
      for (const res of await Promise.all(names.map(rename))) expectStatus(res, 200);
      const profile = expectStatus(await gus.get(`/profile/${gus.userId}`), 200).body.displayname;
      const inRooms = await Promise.all(
        kept.map(
          async (r) => (await alice.get(`/rooms/${r}/state/m.room.member/${gus.userId}`)).body.displayname,
        ),
      );
      expect(inRooms).toEqual(kept.map(() => profile));
    });

    it('renames more users at once than the database pool has connections', async () => {
      // Each rename holds a lock while it writes: the locks must not take the connections the
      // writes need (the main pool has 20).
      const rooms = await Promise.all([1, 2, 3].map(() => alice.createRoom({ preset: 'public_chat' })));
      const roomId = rooms[0];
      const users = await Promise.all(Array.from({ length: 40 }, (_, i) => client(t, `many${i}`)));
      for (const u of users) for (const r of rooms) await u.join(r);
      const answers = await Promise.all(
        users.map((u, i) => u.put(`/profile/${u.userId}/displayname`, { displayname: `Many ${i}` })),
      );
      expect(answers.map((r) => r.status)).toEqual(users.map(() => 200));
      const joined = (await alice.get(`/rooms/${roomId}/joined_members`)).body.joined;
      expect(users.map((u) => joined[u.userId].display_name)).toEqual(users.map((_, i) => `Many ${i}`));
    }, 30_000);
  });
});
