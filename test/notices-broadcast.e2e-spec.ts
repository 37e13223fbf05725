import { Job } from 'bullmq';
import { JobService } from '../src/jobs/job.service.js';
import { TestApp, auth, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

/**
 * The server-notice broadcast (beyond Dendrite, its issue #2816): one request answers a job ID at
 * once, and the job sends the notice to every active local user, watched through the job-status
 * endpoint. A run repeated from scratch sends nobody a second copy.
 */
const SEEDED = 1000;
const NOTICE = { msgtype: 'm.text', body: 'Maintenance tonight at 22:00' };

describe('server notice broadcast', () => {
  let t: TestApp;
  let admin: TestUser;
  let noticesUser: string;

  beforeAll(async () => {
    t = await TestApp.start();
    noticesUser = `@_server:${t.serverName}`;
    admin = await t.registerAdmin('admin');
    // Accounts straight into the tables: a thousand registrations would only test registration.
    await t.sql(
      `INSERT INTO userapi_accounts (localpart, server_name, created_ts, account_type)
       SELECT 'user' || lpad(i::text, 4, '0'), $1, 0, 1 FROM generate_series(1, $2::int) AS i`,
      [t.serverName, SEEDED],
    );
    await t.sql(
      `INSERT INTO userapi_profiles (localpart, server_name, display_name)
       SELECT localpart, server_name, localpart FROM userapi_accounts WHERE localpart LIKE 'user%'`,
    );
    // Neither deactivated accounts nor guests are sent notices.
    await t.sql(
      `INSERT INTO userapi_accounts (localpart, server_name, created_ts, account_type, is_deactivated)
       VALUES ('gone', $1, 0, 1, TRUE), ('12345', $1, 0, 2, FALSE)`,
      [t.serverName],
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  const jobStatus = async (jobId: string) =>
    (await t.http.get(`/_lattice/admin/v1/jobs/${jobId}`).set(auth(admin))).body as {
      state: string;
      type: string;
      target: string;
      progress: { done: number; total: number } | null;
      result: { sent: number; failed: number; total: number } | null;
      finished_ts: number | null;
      logs: string[];
    };

  const noticeCount = async () =>
    (
      await t.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM room_events WHERE sender = $1 AND type = 'm.room.message'
           AND pdu::jsonb->'content'->>'body' = $2`,
        [noticesUser, NOTICE.body],
      )
    )[0].n;

  it('sends the notice to every active local user as a background job', async () => {
    // The admin already has a notices room: the broadcast uses it.
    const earlier = await t.http
      .post('/_synapse/admin/v1/send_server_notice')
      .set(auth(admin))
      .send({ user_id: admin.userId, content: { msgtype: 'm.text', body: 'earlier' } });
    expect(earlier.status).toBe(200);

    const res = await t.http
      .post('/_lattice/admin/v1/server_notices/broadcast')
      .set(auth(admin))
      .send({ content: NOTICE });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['job_id']);
    const jobId = res.body.job_id as string;

    const done = await waitFor(
      async () => {
        const status = await jobStatus(jobId);
        return status.state === 'completed' || status.state === 'failed' ? status : null;
      },
      'the broadcast job to finish',
      240_000,
    );
    const recipients = SEEDED + 1;
    expect(done).toMatchObject({
      state: 'completed',
      type: 'ServerNoticeBroadcast',
      target: 'all local users',
      progress: { done: recipients, total: recipients },
      result: { sent: recipients, failed: 0, total: recipients },
    });
    expect(done.logs.some((l) => l.includes(`1000 of ${recipients} users done`))).toBe(true);
    expect(done.logs.some((l) => l.includes(`${recipients} sent, 0 failed`))).toBe(true);

    expect(await noticeCount()).toBe(recipients);
    const rooms = await t.sql<{ n: number; users: number }>(
      `SELECT count(DISTINCT room_id)::int AS n, count(*)::int AS users FROM server_notice_rooms`,
    );
    expect(rooms).toEqual([{ n: recipients, users: recipients }]);
    const tagged = await t.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM userapi_account_datas
       WHERE type = 'm.tag' AND content->'tags' ? 'm.server_notice'`,
    );
    expect(tagged).toEqual([{ n: recipients }]);
    const invited = await t.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM room_memberships m JOIN server_notice_rooms s
         ON s.room_id = m.room_id AND s.user_id = m.user_id WHERE m.membership = 'invite'`,
    );
    expect(invited).toEqual([{ n: recipients }]);
    const adminRooms = await t.sql(
      `SELECT DISTINCT e.room_id FROM room_events e WHERE e.sender = $1 AND e.type = 'm.room.message'
         AND e.room_id = (SELECT room_id FROM server_notice_rooms WHERE user_id = $2)`,
      [noticesUser, admin.userId],
    );
    expect(adminRooms).toHaveLength(1);
    expect(
      await t.sql(`SELECT user_id FROM server_notice_rooms WHERE user_id IN ($1, $2)`, [
        `@gone:${t.serverName}`,
        `@12345:${t.serverName}`,
      ]),
    ).toEqual([]);

    // A retry that lost its checkpoint (a crash before the first one was saved) does it all again:
    // the per-user transactions derived from the job make it send nobody a second copy.
    const job = (await Job.fromId(t.app.get(JobService).queue('admin'), jobId))!;
    await job.updateData({ ...job.data, checkpoint: {} });
    await job.retry('completed');
    const again = await waitFor(
      async () => {
        const status = await jobStatus(jobId);
        return status.state === 'completed' && status.finished_ts! > done.finished_ts! ? status : null;
      },
      'the repeated run to finish',
      240_000,
    );
    expect(again.result).toEqual({ sent: recipients, failed: 0, total: recipients });
    expect(await noticeCount()).toBe(recipients);
  });
});
