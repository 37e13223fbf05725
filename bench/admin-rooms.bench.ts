import { BenchServer, loadLoop, ms, percentile, type BenchFigure } from './lib.js';

const ROOM_EVENTS = Number(process.env.BENCH_ROOM_EVENTS ?? 1_000_000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 5000);

/**
 * Issue 4's targets: purge a 1,000,000-event room within 15 s, evacuate 5,000 local members
 * within 10 s, and keep ordinary requests' p99 under 200 ms while the purge runs.
 */
export async function run(): Promise<BenchFigure[]> {
  const server = new BenchServer('admin');
  try {
    console.log(`  seeding a room of ${ROOM_EVENTS} events and ${MEMBERS} members (npm run seed)…`);
    const seeded = await server.seed([
      '--room-events',
      String(ROOM_EVENTS),
      '--members',
      String(MEMBERS),
      '--prefix',
      'm',
    ]);
    const roomId = /Seeded (!\S+):/.exec(seeded)![1];
    await server.start();
    const admin = await server.admin();
    const room = encodeURIComponent(roomId);

    let t0 = performance.now();
    const evacuation = await server.request('POST', `/_dendrite/admin/evacuateRoom/${room}`, admin);
    const evacuateMs = performance.now() - t0;
    if (evacuation.status !== 200 || evacuation.body.affected.length !== MEMBERS) {
      throw new Error(
        `evacuation failed: ${evacuation.status} ${JSON.stringify(evacuation.body).slice(0, 200)}`,
      );
    }

    // Ordinary traffic in another room: one user sends, another syncs.
    const sender = await server.login('m_1', 'seed-password');
    const reader = await server.login('m_2', 'seed-password');
    const other = (
      await server.request('POST', '/_matrix/client/v3/createRoom', sender, { preset: 'public_chat' })
    ).body.room_id;
    await server.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(other)}`, reader, {});
    let since = (await server.request('GET', '/_matrix/client/v3/sync?timeout=0', reader)).body.next_batch;
    let txn = 0;
    const traffic = (i: number) =>
      i % 2 === 0
        ? server.request(
            'PUT',
            `/_matrix/client/v3/rooms/${encodeURIComponent(other)}/send/m.room.message/b${txn++}`,
            sender,
            {
              msgtype: 'm.text',
              body: 'during the purge',
            },
          )
        : server.request('GET', `/_matrix/client/v3/sync?timeout=0&since=${since}`, reader).then((r) => {
            since = r.body.next_batch ?? since;
          });
    const idle = await loadLoop(
      4,
      async (i) => void (await traffic(i)),
      new Promise((r) => setTimeout(r, 3000)),
    );

    t0 = performance.now();
    const purge = await server.request('POST', `/_dendrite/admin/purgeRoom/${room}`, admin);
    const jobId = purge.body.job_id as string;
    const finished = (async () => {
      for (;;) {
        const status = await server.request('GET', `/_lattice/admin/v1/jobs/${jobId}`, admin);
        if (status.body.state === 'completed') return status.body;
        if (status.body.state === 'failed') throw new Error(`purge failed: ${status.body.error}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const during = await loadLoop(4, async (i) => void (await traffic(i)), finished);
    const purgeMs = performance.now() - t0;
    const job = await finished;

    return [
      {
        name: `evacuateRoom, ${MEMBERS} local members`,
        value: ms(evacuateMs),
        target: '≤ 10 s',
        ok: evacuateMs <= 10_000,
      },
      {
        name: `purgeRoom, ${job.result.events} events (request → job completed)`,
        value: ms(purgeMs),
        target: '≤ 15 s',
        ok: purgeMs <= 15_000,
      },
      {
        name: 'send+sync p50 / p99 before the purge',
        value: `${ms(percentile(idle, 50))} / ${ms(percentile(idle, 99))}`,
      },
      {
        name: `send+sync p50 / p99 during the purge (${during.length} requests)`,
        value: `${ms(percentile(during, 50))} / ${ms(percentile(during, 99))}`,
        target: 'p99 < 200 ms',
        ok: percentile(during, 99) < 200,
      },
    ];
  } finally {
    await server.stop();
  }
}
