import { TestApp, auth, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

/** Dendrite's admin room operations (§4–§6, §12 of dendrite-admin.md) as Lattice runs them: BullMQ jobs. */
describe('admin room operations', () => {
  let t: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await TestApp.start();
    admin = await t.registerAdmin('admin');
    alice = await t.register('alice');
    bob = await t.register('bob');
  });
  afterAll(async () => {
    await t.close();
  });

  const createRoom = async (creator: TestUser, body: Record<string, unknown> = {}) => {
    const res = await t.http.post('/_matrix/client/v3/createRoom').set(auth(creator)).send(body);
    expect(res.status).toBe(200);
    return res.body.room_id as string;
  };
  const join = async (user: TestUser, roomId: string) =>
    expect(
      (
        await t.http
          .post(`/_matrix/client/v3/join/${encodeURIComponent(roomId)}`)
          .set(auth(user))
          .send({})
      ).status,
    ).toBe(200);
  const invite = async (from: TestUser, roomId: string, to: TestUser) =>
    expect(
      (
        await t.http
          .post(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`)
          .set(auth(from))
          .send({ user_id: to.userId })
      ).status,
    ).toBe(200);
  const say = async (user: TestUser, roomId: string, body: string, txn: string) =>
    (
      await t.http
        .put(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`)
        .set(auth(user))
        .send({ msgtype: 'm.text', body })
    ).body.event_id as string;
  const admin_ = (path: string) => t.http.post(`/_dendrite/admin/${path}`).set(auth(admin));
  const membership = async (roomId: string, userId: string) =>
    (
      await t.sql<{ membership: string }>(
        `SELECT membership FROM room_memberships WHERE room_id = $1 AND user_id = $2`,
        [roomId, userId],
      )
    )[0]?.membership;
  const jobStatus = async (jobId: string) =>
    (await t.http.get(`/_lattice/admin/v1/jobs/${jobId}`).set(auth(admin))).body;

  describe('evacuateRoom', () => {
    it('makes every joined local user leave, in membership order, keeping their display name', async () => {
      await t.http
        .put(`/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/displayname`)
        .set(auth(bob))
        .send({ displayname: 'Bobby' });
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      await join(bob, roomId);
      const res = await admin_(`evacuateRoom/${encodeURIComponent(roomId)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ affected: [alice.userId, bob.userId] });
      expect(res.headers['x-lattice-job-id']).toMatch(/^admin-/);
      expect(await membership(roomId, alice.userId)).toBe('leave');
      expect(await membership(roomId, bob.userId)).toBe('leave');

      const [leave] = await t.sql<{ pdu: string }>(
        `SELECT e.pdu FROM room_state s JOIN room_events e ON e.event_id = s.event_id
         WHERE s.room_id = $1 AND s.type = 'm.room.member' AND s.state_key = $2 AND s.to_pos IS NULL`,
        [roomId, bob.userId],
      );
      const pdu = JSON.parse(leave.pdu);
      expect(pdu.sender).toBe(bob.userId);
      expect(pdu.content).toEqual({ membership: 'leave', displayname: 'Bobby' });

      const status = await jobStatus(res.headers['x-lattice-job-id']);
      expect(status).toMatchObject({
        type: 'AdminEvacuateRoom',
        target: roomId,
        state: 'completed',
        progress: { done: 2, total: 2 },
      });
      expect(status.result).toEqual({ affected: [alice.userId, bob.userId] });
      expect(status.logs.some((l: string) => l.includes(`Evacuated room ${roomId}: 2 members`))).toBe(true);
    });

    it('answers [] for a room nobody is in any more', async () => {
      const roomId = await createRoom(alice);
      await t.http
        .post(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`)
        .set(auth(alice))
        .send({});
      const res = await admin_(`evacuateRoom/${encodeURIComponent(roomId)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ affected: [] });
    });

    it('answers 404 for an unknown room and 400 for a malformed ID', async () => {
      const unknown = await admin_(`evacuateRoom/${encodeURIComponent('!doesnotexist:test')}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.errcode).toBe('M_NOT_FOUND');
      const malformed = await admin_(`evacuateRoom/${encodeURIComponent('@doesnotexist:test')}`);
      expect(malformed.status).toBe(400);
      expect(malformed.body.errcode).toBe('M_INVALID_PARAM');
    });

    it('joins the running job when the same request arrives twice', async () => {
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      await join(bob, roomId);
      const [a, b] = await Promise.all([
        admin_(`evacuateRoom/${encodeURIComponent(roomId)}`),
        admin_(`evacuateRoom/${encodeURIComponent(roomId)}`),
      ]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.headers['x-lattice-job-id']).toBe(b.headers['x-lattice-job-id']);
      expect(a.body).toEqual(b.body);
    });
  });

  describe('evacuateUser', () => {
    it('leaves joined rooms first, then rejects invites', async () => {
      const carol = await t.register('carol');
      const room1 = await createRoom(alice, { preset: 'public_chat' });
      const room2 = await createRoom(alice, { preset: 'public_chat' });
      const room3 = await createRoom(alice);
      await invite(alice, room3, carol);
      await join(carol, room1);
      await join(carol, room2);
      const res = await admin_(`evacuateUser/${encodeURIComponent(carol.userId)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ affected: [room1, room2, room3] });
      for (const r of [room1, room2, room3]) expect(await membership(r, carol.userId)).toBe('leave');
      const [leave] = await t.sql<{ pdu: string }>(
        `SELECT e.pdu FROM room_memberships m JOIN room_events e ON e.event_id = m.event_id WHERE m.room_id = $1 AND m.user_id = $2`,
        [room1, carol.userId],
      );
      expect(JSON.parse(leave.pdu).content).toEqual({ membership: 'leave' });
    });

    it('answers [] for an unknown local user and 400 for remote or malformed IDs', async () => {
      const unknown = await admin_(`evacuateUser/${encodeURIComponent('@doesnotexist:test')}`);
      expect(unknown.status).toBe(200);
      expect(unknown.body).toEqual({ affected: [] });
      for (const id of ['@doesnotexist:localhost', '!notauserid:test']) {
        const res = await admin_(`evacuateUser/${encodeURIComponent(id)}`);
        expect(res.status).toBe(400);
        expect(res.body.errcode).toBe('M_INVALID_PARAM');
      }
    });
  });

  describe('purgeRoom', () => {
    /** Every table with a room_id column, so tables added by any module are checked too. */
    const roomTables = async () =>
      (
        await t.sql<{ table_name: string }>(
          `SELECT table_name FROM information_schema.columns WHERE column_name = 'room_id' AND table_schema = 'public' ORDER BY table_name`,
        )
      ).map((r) => r.table_name);
    const rowCounts = async (roomId: string) => {
      const counts: Record<string, number> = {};
      for (const table of await roomTables()) {
        const [row] = await t.sql<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE room_id = $1`, [
          roomId,
        ]);
        counts[table] = Number(row.n);
      }
      return counts;
    };

    it('refuses typing and receipts once the room is marked, so none can outlive the purge', async () => {
      const roomId = await createRoom(alice, { preset: 'public_chat' });
      await join(bob, roomId);
      const e = await say(bob, roomId, 'hello', `late-${roomId}`);
      // The moment after purgeRoom has marked the room and before its job has removed the members.
      await t.sql(`UPDATE rooms SET purged_ts = $2 WHERE room_id = $1`, [roomId, Date.now()]);
      const room = encodeURIComponent(roomId);
      const typing = await t.http
        .put(`/_matrix/client/v3/rooms/${room}/typing/${encodeURIComponent(bob.userId)}`)
        .set(auth(bob))
        .send({ typing: true, timeout: 30000 });
      const receipt = await t.http
        .post(`/_matrix/client/v3/rooms/${room}/receipt/m.read/${encodeURIComponent(e)}`)
        .set(auth(bob))
        .send({});
      expect([typing.status, typing.body.errcode, receipt.status, receipt.body.errcode]).toEqual([
        404,
        'M_NOT_FOUND',
        404,
        'M_NOT_FOUND',
      ]);
      const [{ n }] = await t.sql<{ n: number }>(
        `SELECT (SELECT count(*) FROM room_typing WHERE room_id = $1) + (SELECT count(*) FROM room_receipts WHERE room_id = $1) AS n`,
        [roomId],
      );
      expect(Number(n)).toBe(0);
    });

    it('hides the room at once, then removes every row it left behind, leaving other rooms alone', async () => {
      const roomId = await createRoom(alice, {
        preset: 'public_chat',
        room_alias_name: 'doomed',
        visibility: 'public',
        name: 'Doomed',
      });
      const other = await createRoom(alice, {
        preset: 'public_chat',
        room_alias_name: 'other',
        name: 'Other',
      });
      await join(bob, roomId);
      await join(bob, other);
      await invite(alice, roomId, admin);
      for (const r of [roomId, other]) {
        const e = await say(bob, r, 'hello', `m-${r}`);
        await t.http
          .post(`/_matrix/client/v3/rooms/${encodeURIComponent(r)}/receipt/m.read/${encodeURIComponent(e)}`)
          .set(auth(alice))
          .send({});
        await t.http
          .put(`/_matrix/client/v3/rooms/${encodeURIComponent(r)}/typing/${encodeURIComponent(bob.userId)}`)
          .set(auth(bob))
          .send({ typing: true });
        await t.http
          .put(
            `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/rooms/${encodeURIComponent(r)}/tags/m.favourite`,
          )
          .set(auth(bob))
          .send({ order: 0.5 });
      }
      const before = await rowCounts(roomId);
      const otherBefore = await rowCounts(other);
      expect(before.room_events).toBeGreaterThan(5);
      expect(before.userapi_account_datas).toBe(1);

      const since = (await t.http.get('/_matrix/client/v3/sync').set(auth(bob))).body.next_batch;
      const res = await admin_(`purgeRoom/${encodeURIComponent(roomId)}`);
      expect(res.status).toBe(200);
      expect(res.body.job_id).toMatch(/^admin-/);

      // Gone for every client at once.
      const room = encodeURIComponent(roomId);
      expect((await t.http.get(`/_matrix/client/v3/rooms/${room}/state`).set(auth(bob))).status).toBe(404);
      expect((await t.http.get(`/_matrix/client/v3/rooms/${room}/messages`).set(auth(bob))).status).toBe(404);
      expect((await t.http.post(`/_matrix/client/v3/join/${room}`).set(auth(admin)).send({})).status).toBe(
        404,
      );
      expect(
        (await t.http.get(`/_matrix/client/v3/directory/room/${encodeURIComponent('#doomed:test')}`)).status,
      ).toBe(404);
      const directory = (await t.http.get('/_matrix/client/v3/publicRooms')).body.chunk.map(
        (c: { room_id: string }) => c.room_id,
      );
      expect(directory).not.toContain(roomId);
      const initial = (await t.http.get('/_matrix/client/v3/sync').set(auth(bob))).body;
      expect(Object.keys(initial.rooms.join)).toEqual([other]);
      const incremental = (await t.http.get(`/_matrix/client/v3/sync?since=${since}`).set(auth(bob))).body;
      expect(incremental.rooms.join[roomId]).toBeUndefined();
      expect((await t.http.get('/_matrix/client/v3/joined_rooms').set(auth(bob))).body.joined_rooms).toEqual([
        other,
      ]);

      const status = await waitFor(async () => {
        const s = await jobStatus(res.body.job_id);
        return s.state === 'completed' ? s : undefined;
      }, 'the purge job to complete');
      expect(status).toMatchObject({ type: 'AdminPurgeRoom', target: roomId });
      expect(status.result.events).toBe(before.room_events);
      expect(
        status.logs.some((l: string) =>
          new RegExp(
            `Purged room ${roomId.replace(/[!.]/g, '\\$&')}: ${before.room_events} events in [0-9.]+s`,
          ).test(l),
        ),
      ).toBe(true);
      expect(
        t.logs
          .messages()
          .some((m) => m.startsWith(`Purged room ${roomId}: ${before.room_events} events in `)),
      ).toBe(true);

      const after = await rowCounts(roomId);
      expect(after).toEqual(Object.fromEntries(Object.keys(after).map((table) => [table, 0])));
      expect(await rowCounts(other)).toEqual(otherBefore);
      expect(await t.sql(`SELECT 1 FROM rooms WHERE room_id = $1`, [roomId])).toEqual([]);

      // The alias is free again, without a restart.
      const again = await createRoom(alice, { room_alias_name: 'doomed' });
      expect(
        (await t.http.get(`/_matrix/client/v3/directory/room/${encodeURIComponent('#doomed:test')}`)).body
          .room_id,
      ).toBe(again);
    });

    it("forgets a purged notices room: the user's next notice makes a new one", async () => {
      const notice = (body: string) =>
        t.http
          .post('/_synapse/admin/v1/send_server_notice')
          .set(auth(admin))
          .send({ user_id: bob.userId, content: { msgtype: 'm.text', body } });
      expect((await notice('first')).status).toBe(200);
      const [{ room_id: noticeRoom }] = await t.sql<{ room_id: string }>(
        `SELECT room_id FROM server_notice_rooms WHERE user_id = $1`,
        [bob.userId],
      );
      const res = await admin_(`purgeRoom/${encodeURIComponent(noticeRoom)}`);
      await waitFor(
        async () => (await jobStatus(res.body.job_id)).state === 'completed',
        'the purge to complete',
      );
      expect(await rowCounts(noticeRoom)).toEqual(
        Object.fromEntries(Object.keys(await rowCounts(noticeRoom)).map((k) => [k, 0])),
      );
      expect((await notice('second')).status).toBe(200);
      const [{ room_id: next }] = await t.sql<{ room_id: string }>(
        `SELECT room_id FROM server_notice_rooms WHERE user_id = $1`,
        [bob.userId],
      );
      expect(next).not.toBe(noticeRoom);
    });

    it('joins the running purge when asked twice', async () => {
      const roomId = await createRoom(alice);
      const [a, b] = await Promise.all([
        admin_(`purgeRoom/${encodeURIComponent(roomId)}`),
        admin_(`purgeRoom/${encodeURIComponent(roomId)}`),
      ]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.job_id).toBe(b.body.job_id);
      const list = await t.http.get(`/_lattice/admin/v1/jobs?type=AdminPurgeRoom`).set(auth(admin));
      expect(list.body.jobs.filter((j: { target: string }) => j.target === roomId)).toHaveLength(1);
    });

    it('answers 404 for an unknown room and 400 for a malformed ID', async () => {
      const unknown = await admin_(`purgeRoom/${encodeURIComponent('!doesnotexist:localhost')}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.errcode).toBe('M_NOT_FOUND');
      const malformed = await admin_(`purgeRoom/${encodeURIComponent('@doesnotexist:localhost')}`);
      expect(malformed.status).toBe(400);
      expect(malformed.body.errcode).toBe('M_INVALID_PARAM');
    });
  });

  describe('job status', () => {
    it('lists jobs by type and state, and 404s an unknown job', async () => {
      const list = await t.http
        .get('/_lattice/admin/v1/jobs?type=AdminEvacuateRoom&state=completed')
        .set(auth(admin));
      expect(list.status).toBe(200);
      expect(list.body.jobs.length).toBeGreaterThan(0);
      for (const job of list.body.jobs)
        expect(job).toMatchObject({ type: 'AdminEvacuateRoom', state: 'completed' });
      expect((await t.http.get('/_lattice/admin/v1/jobs/admin-nope').set(auth(admin))).status).toBe(404);
      const bad = await t.http.get('/_lattice/admin/v1/jobs?state=exploded').set(auth(admin));
      expect(bad.status).toBe(400);
      expect(bad.body.errcode).toBe('M_BAD_JSON');
    });
  });
});
