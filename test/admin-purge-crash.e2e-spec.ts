import pg from 'pg';
import { seedRoom } from '../src/cli/room-seeder.js';
import { compileSources, scratchDir, ServerProcess } from './helpers/compiled-app.js';
import { TestApp, auth, testEnvironment, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

/**
 * A worker killed with SIGKILL in the middle of a purge loses nothing: the job is picked up again
 * by a new worker process, finishes, and no other room's data is touched.
 */
describe('purge survives a killed worker', () => {
  let t: TestApp;
  let admin: TestUser;
  let compiled: { dir: string; remove: () => void };
  const workers: ServerProcess[] = [];
  const env = testEnvironment({ ROLE: 'api' });

  const startWorker = async () => {
    const worker = ServerProcess.start(
      `${compiled.dir}/src/main.js`,
      { ...env, ROLE: 'worker', LOG_LEVEL: 'info' },
      scratchDir(),
    );
    workers.push(worker);
    await waitFor(
      () => worker.output.join('').includes('worker running') || worker.exited,
      'the worker to start',
      20_000,
    );
    if (worker.exited) throw new Error(`worker exited:\n${worker.output.join('')}`);
    return worker;
  };

  beforeAll(async () => {
    compiled = await compileSources();
    t = await TestApp.start({}, env);
    admin = await t.registerAdmin('admin');
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.stop();
    await t.close();
    compiled.remove();
  });

  const count = async (roomId: string) =>
    Number(
      (await t.sql<{ n: string }>(`SELECT count(*) AS n FROM room_events WHERE room_id = $1`, [roomId]))[0].n,
    );

  const searchRows = async (roomId: string) =>
    Number(
      (await t.sql<{ n: string }>(`SELECT count(*) AS n FROM search_events WHERE room_id = $1`, [roomId]))[0]
        .n,
    );

  it('resumes after SIGKILL and completes', async () => {
    const big = await seedRoom(t.app, {
      roomEvents: 60_000,
      members: 20,
      prefix: 'big',
      password: 'seed-password',
    });
    const other = await seedRoom(t.app, {
      roomEvents: 300,
      members: 3,
      prefix: 'other',
      password: 'seed-password',
    });
    expect(await searchRows(big.roomId)).toBeGreaterThan(big.events / 2);
    const otherRows = await t.sql(`SELECT event_id FROM room_events WHERE room_id = $1 ORDER BY stream_pos`, [
      other.roomId,
    ]);

    // The newest event stays locked by this transaction, so the purge, which walks the room from its
    // oldest event, deletes every step but the last and then waits: the kill is sure to land mid-job.
    const blocker = new pg.Client({ connectionString: t.config.DATABASE_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `SELECT 1 FROM room_events WHERE stream_pos = (SELECT max(stream_pos) FROM room_events WHERE room_id = $1) FOR UPDATE`,
      [big.roomId],
    );

    const first = await startWorker();
    const res = await t.http
      .post(`/_dendrite/admin/purgeRoom/${encodeURIComponent(big.roomId)}`)
      .set(auth(admin));
    expect(res.status).toBe(200);
    const jobId = res.body.job_id as string;

    // Kill the worker as soon as it has deleted something, long before it is done.
    await waitFor(async () => (await count(big.roomId)) < big.events, 'the purge to start deleting', 20_000);
    first.child.kill('SIGKILL');
    await waitFor(() => first.exited, 'the worker to die');
    await blocker.query('ROLLBACK');
    await blocker.end();
    const left = await count(big.roomId);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(big.events);
    const stalled = (await t.http.get(`/_lattice/admin/v1/jobs/${jobId}`).set(auth(admin))).body;
    expect(stalled.state).toBe('running');

    await startWorker();
    const done = await waitFor(
      async () => {
        const s = (await t.http.get(`/_lattice/admin/v1/jobs/${jobId}`).set(auth(admin))).body;
        return s.state === 'completed' || s.state === 'failed' ? s : undefined;
      },
      'the job to be picked up again and complete',
      60_000,
    );
    expect(done.state).toBe('completed');
    expect(done.result.events).toBe(big.events);
    expect(done.logs.some((l: string) => l.includes(`Resuming the purge of ${big.roomId}`))).toBe(true);
    expect(await count(big.roomId)).toBe(0);
    // The search index lost its rows with their events (none outlived them across the kill).
    expect(await searchRows(big.roomId)).toBe(0);
    expect(await t.sql(`SELECT 1 FROM rooms WHERE room_id = $1`, [big.roomId])).toEqual([]);
    expect(
      await t.sql(`SELECT event_id FROM room_events WHERE room_id = $1 ORDER BY stream_pos`, [other.roomId]),
    ).toEqual(otherRows);
  }, 120_000);
});
