import { join } from 'node:path';
import pg from 'pg';
import { JobService } from '../src/jobs/job.service.js';
import { JobName } from '../src/jobs/job.types.js';
import { RoomWriterService } from '../src/rooms/services/room-writer.service.js';
import { compileSources, runScript } from './helpers/compiled-app.js';
import { RoomClient, client, expectStatus } from './helpers/room-client.js';
import { buildConfig } from '../src/config/app-config.js';
import { TestApp, dropTestState, testEnvironment, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const REINDEX = '/_dendrite/admin/fulltext/reindex';
const FINISHED = /^Indexed (\d+) events in \d+(\.\d+)? s$/;
const BULK = 2100;

/**
 * The index is derived data: the reindex job rebuilds it from the events alone (only names, topics
 * and messages), in batches of 1000 with a log line each, without ever emptying it; a crash between
 * an event's commit and its indexing is caught up at the next start.
 */
describe('search reindex', () => {
  const env = testEnvironment();
  let t: TestApp;
  let admin: TestUser;
  let alice: RoomClient;
  let roomId: string;

  beforeAll(async () => {
    t = await TestApp.start({}, env);
    admin = await t.registerAdmin('admin');
    alice = await client(t, 'alice');
    roomId = await alice.createRoom({ name: 'Reindex room', topic: 'reindex topic' });
    await alice.send(roomId, 'a plain message to reindex');
    const redacted = await alice.send(roomId, 'a message to reindex, then redact');
    expectStatus(
      await alice.put(`/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(redacted)}/r1`),
      200,
    );
    await alice.send(roomId, '   '); // nothing to index
    expectStatus(
      await alice.sendRaw(roomId, { body: 'reindex note of another type' }, 'org.example.note'),
      200,
    );
    await alice.state(roomId, 'm.room.avatar', { url: 'mxc://test/reindex' });
    // Enough messages for three batches, through the real writer in two transactions.
    const writer = t.app.get(RoomWriterService);
    const drafts = Array.from({ length: BULK }, (_, i) => ({
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: `bulk message number ${i}` },
      sender: alice.userId,
    }));
    await writer.send(roomId, drafts.slice(0, 1100));
    await writer.send(roomId, drafts.slice(1100));
    // The catch-up that follows writes re-reads them; let it be done before tests empty the index.
    await waitFor(async () => {
      const [{ behind }] = await t.sql<{ behind: boolean }>(
        `SELECT (SELECT indexed_pos FROM search_position) < (SELECT max(stream_pos) FROM room_events) AS behind`,
      );
      return !behind;
    }, 'the catch-up to reach the last event');
  });

  afterAll(async () => {
    await t.close();
  });

  const asAdmin = (method: 'get' | 'post') =>
    t.http[method](REINDEX).set('Authorization', `Bearer ${admin.accessToken}`);
  const messages = () => t.logs.messages();
  const finished = () =>
    waitFor(() => messages().find((m) => FINISHED.test(m)), 'the reindex to finish', 30_000);
  const searchCount = async (term: string) => {
    const res = expectStatus(
      await alice.post('/search', { search_categories: { room_events: { search_term: term } } }),
      200,
    );
    return res.body.search_categories.room_events.count as number;
  };
  const indexable = async () =>
    (
      await t.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM room_events WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')`,
      )
    )[0].n;

  it('rebuilds an emptied index from names, topics and messages only, logging every batch', async () => {
    await t.sql(`DELETE FROM search_events`);
    expect(await searchCount('bulk')).toBe(0);
    // A row whose event is not a message any more (as a purge racing with indexing can leave behind).
    await t.sql(
      `INSERT INTO search_events (stream_pos, event_id, room_id, sender, key, vector)
       SELECT stream_pos, event_id, room_id, sender, 'content.body', to_tsvector('english', 'bulk orphan')
       FROM room_events WHERE type = 'm.room.avatar'`,
    );
    const total = await indexable();
    expect(total).toBe(2 + 3 + BULK); // name, topic, three messages, the bulk
    t.logs.lines.length = 0;

    const res = await asAdmin('get');
    expect([res.status, res.body]).toEqual([200, {}]);
    const last = await finished();

    // Indexed: the name, the topic, the plain message and the bulk; not the redacted or empty message.
    const indexed = 2 + 1 + BULK;
    expect(messages().filter((m) => m.startsWith('Starting to index') || m.startsWith('Indexed '))).toEqual([
      `Starting to index events (${total} to go through)`,
      `Indexed 1000 events (1000/${total})`,
      `Indexed 1000 events (2000/${total})`,
      `Indexed ${total - 2000} events (${total}/${total})`,
      last,
    ]);
    expect(last).toMatch(new RegExp(`^Indexed ${indexed} events in `));

    const rows = await t.sql<{ key: string; n: number }>(
      `SELECT key, count(*)::int AS n FROM search_events GROUP BY key ORDER BY key`,
    );
    expect(rows).toEqual([
      { key: 'content.body', n: 1 + BULK },
      { key: 'content.name', n: 1 },
      { key: 'content.topic', n: 1 },
    ]);
    expect(await searchCount('bulk')).toBe(BULK);
    expect(await searchCount('note')).toBe(0);

    // The job and its progress are visible through the job-status API.
    const list = expectStatus(
      await t.http
        .get(`/_lattice/admin/v1/jobs?type=${JobName.SearchReindex}`)
        .set('Authorization', `Bearer ${admin.accessToken}`),
      200,
    );
    const job = list.body.jobs[0];
    expect(job).toMatchObject({
      type: JobName.SearchReindex,
      state: 'completed',
      progress: { done: total, total },
      result: { indexed },
    });
    const status = expectStatus(
      await t.http
        .get(`/_lattice/admin/v1/jobs/${job.job_id}`)
        .set('Authorization', `Bearer ${admin.accessToken}`),
      200,
    );
    expect(status.body.logs.some((l: string) => l.endsWith(`Indexed 1000 events (1000/${total})`))).toBe(
      true,
    );
  });

  it('keeps answering searches while it runs, and a second request joins the running job', async () => {
    const total = await indexable();
    // A stale row in the second batch (it still matches "bulk"), which the job has to rewrite, held
    // by another transaction: the job finishes its first batch and then waits on this one.
    const [{ event_id: held }] = await t.sql<{ event_id: string }>(
      `SELECT event_id FROM room_events WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')
       ORDER BY stream_pos OFFSET 1499 LIMIT 1`,
    );
    await t.sql(
      `UPDATE search_events SET vector = to_tsvector('english', 'bulk stale') WHERE event_id = $1`,
      [held],
    );
    const blocker = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM search_events WHERE event_id = $1 FOR UPDATE`, [held]);
      t.logs.lines.length = 0;

      expect((await asAdmin('post')).body).toEqual({});
      await waitFor(
        () => messages().includes(`Indexed 1000 events (1000/${total})`),
        'the first batch to be indexed',
      );
      const running = async () =>
        expectStatus(
          await t.http
            .get(`/_lattice/admin/v1/jobs?type=${JobName.SearchReindex}&state=running`)
            .set('Authorization', `Bearer ${admin.accessToken}`),
          200,
        ).body.jobs as Json[];
      const [job] = await running();
      expect(job.progress).toEqual({ done: 1000, total });

      // Mid-rebuild, every result is still there: rows are upserted in place, never cleared.
      expect(await searchCount('bulk')).toBe(BULK);
      expect(await searchCount('reindex')).toBe(3); // name, topic, plain message

      expect((await asAdmin('get')).body).toEqual({});
      expect((await running()).map((j) => j.job_id)).toEqual([job.job_id]);
    } finally {
      await blocker.query('COMMIT');
      await blocker.end();
    }
    await finished();
    expect(messages().filter((m) => FINISHED.test(m))).toHaveLength(1);
    const [row] = await t.sql<{ vector: string }>(
      `SELECT vector::text FROM search_events WHERE event_id = $1`,
      [held],
    );
    expect(row.vector).not.toMatch(/stale/);
    expect(await searchCount('bulk')).toBe(BULK);
  });

  it('resumes from its checkpoint after an interrupted attempt', async () => {
    const total = await indexable();
    const [{ pos }] = await t.sql<{ pos: string }>(
      `SELECT stream_pos AS pos FROM room_events WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')
       ORDER BY stream_pos OFFSET 1999 LIMIT 1`,
    );
    await t.sql(`DELETE FROM search_events`);
    t.logs.lines.length = 0;
    // What an attempt that died after two batches leaves in its job: a checkpoint after them.
    await t.app
      .get(JobService)
      .queue('admin')
      .add(
        JobName.SearchReindex,
        {
          payload: {},
          target: 'all events',
          checkpoint: { after: Number(pos), done: 2000, indexed: 1998, total, startedAt: Date.now() },
        },
        { jobId: 'admin-resume-test' },
      );
    const last = await finished();
    expect(messages()).toContain(`Resuming indexing after stream position ${pos} (2000/${total})`);
    expect(messages()).toContain(`Indexed ${total - 2000} events (${total}/${total})`);
    expect(last).toMatch(/^Indexed 2103 events in /);
    // Only what came after the checkpoint was indexed again.
    const [{ below, above }] = await t.sql<{ below: number; above: number }>(
      `SELECT count(*) FILTER (WHERE stream_pos <= $1)::int AS below, count(*) FILTER (WHERE stream_pos > $1)::int AS above
       FROM search_events`,
      [pos],
    );
    expect({ below, above }).toEqual({ below: 0, above: total - 2000 });
  });

  it('leaves a room that is being purged alone, dropping the rows it still has', async () => {
    const doomed = await alice.createRoom({ name: 'doomed room' });
    await alice.send(doomed, 'doomedword in a room about to go');
    const rowsOf = () =>
      t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM search_events WHERE room_id = $1`, [doomed]);
    expect(await rowsOf()).toEqual([{ n: 2 }]); // its name and the message
    // purgeRoom hides the room at once and deletes its data in steps: a reindex meanwhile must not
    // index it again.
    await t.sql(`UPDATE rooms SET purged_ts = $2 WHERE room_id = $1`, [doomed, Date.now()]);
    t.logs.lines.length = 0;
    expectStatus(await asAdmin('post'), 200);
    await finished();
    expect(await rowsOf()).toEqual([{ n: 0 }]);
    expect(await searchCount('bulk')).toBe(BULK);
  });

  it('refuses non-admins', async () => {
    for (const method of ['get', 'post'] as const) {
      const res = await t.http[method](REINDEX).set('Authorization', `Bearer ${alice.user.accessToken}`);
      expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    }
    const anonymous = await t.http.get(REINDEX);
    expect([anonymous.status, anonymous.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
  });

  it('leaves out an event whose content PostgreSQL refuses, and indexes everything around it', async () => {
    // An event stored before the body parser refused lone surrogates: PostgreSQL's json refuses the
    // whole PDU, so a range statement over it fails. It must not stop the catch-up or the reindex.
    const [{ pos }] = await t.sql<{ pos: string }>(
      `INSERT INTO room_events (stream_pos, event_id, room_id, type, sender, depth, origin_server_ts, pdu)
       SELECT p, '$broken' || p, $1, 'm.room.message', $2, 1, 0,
              '{"content":{"body":"unreadable \\ud800 message","msgtype":"m.text"},"room_id":"' || $1 || '","type":"m.room.message"}'
       FROM lattice_next_stream_pos() AS p RETURNING stream_pos AS pos`,
      [roomId, alice.userId],
    );
    await alice.send(roomId, 'readable neighbour after it');
    await waitFor(async () => {
      const [{ mark }] = await t.sql<{ mark: string }>(`SELECT indexed_pos AS mark FROM search_position`);
      return Number(mark) > Number(pos);
    }, 'the catch-up to get past the unreadable event');
    const leftOut = `Left out of the search index, as PostgreSQL refused their content: the events at stream positions ${pos}`;
    expect(messages()).toContain(leftOut);

    await t.sql(`DELETE FROM search_events`);
    t.logs.lines.length = 0;
    expect([(await asAdmin('get')).status]).toEqual([200]);
    await finished();
    expect(messages()).toContain(leftOut);
    expect(await searchCount('neighbour')).toBe(1);
    expect(await searchCount('bulk')).toBe(BULK);
    expect(await searchCount('unreadable')).toBe(0);
  });

  it('indexes at start-up what a crash left out between commit and indexing', async () => {
    const eventId = await alice.send(roomId, 'crashproof words');
    const [{ pos }] = await t.sql<{ pos: string }>(
      `SELECT stream_pos AS pos FROM room_events WHERE event_id = $1`,
      [eventId],
    );
    // Stop the server, then make the database look as if it had died right after the commit.
    await t.stop();
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    await db.query(`DELETE FROM search_events WHERE event_id = $1`, [eventId]);
    await db.query(`UPDATE search_position SET indexed_pos = $1`, [Number(pos) - 1]);
    await db.end();

    t = await TestApp.start({}, env);
    alice = new RoomClient(t, alice.user);
    await waitFor(async () => (await searchCount('crashproof')) === 1, 'the start-up catch-up');
    const [{ mark }] = await t.sql<{ mark: string }>(`SELECT indexed_pos AS mark FROM search_position`);
    expect(Number(mark)).toBeGreaterThanOrEqual(Number(pos));
  });
});

describe('search configuration', () => {
  it('refuses to start with a SEARCH_LANGUAGE PostgreSQL does not know, saying so in one line', async () => {
    const build = await compileSources();
    const env = testEnvironment({ SEARCH_LANGUAGE: 'klingon' });
    try {
      const result = await runScript(join(build.dir, 'src', 'main.js'), [], { env });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toMatch(/^SEARCH_LANGUAGE "klingon" is not a text search configuration/);
    } finally {
      build.remove();
      await dropTestState(buildConfig(env));
    }
  });
});
