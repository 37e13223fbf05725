import { BenchServer, ms, percentile, type BenchFigure } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = 20;

/** Issue 3's targets: ≥ 500 events/s into one room, ≥ 1,500 events/s across 20 rooms, wake-up p99 < 50 ms. */
export async function run(): Promise<BenchFigure[]> {
  const server = new BenchServer('rooms');
  try {
    await server.seed(['--room-events', '30', '--members', String(CLIENTS), '--prefix', 'u']);
    await server.start();
    const tokens = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => server.login(`u_${i}`, 'seed-password')),
    );
    const [{ room_id: shared }] = await server.sql<{ room_id: string }>(`SELECT room_id FROM rooms LIMIT 1`);
    const own = await Promise.all(
      tokens.map(
        async (t) =>
          (await server.request('POST', '/_matrix/client/v3/createRoom', t, {})).body.room_id as string,
      ),
    );

    const throughput = async (roomOf: (i: number) => string) => {
      let sent = 0;
      const deadline = performance.now() + SECONDS * 1000;
      await Promise.all(
        tokens.map(async (token, i) => {
          for (let n = 0; performance.now() < deadline; n++) {
            const res = await server.request(
              'PUT',
              `/_matrix/client/v3/rooms/${encodeURIComponent(roomOf(i))}/send/m.room.message/t${i}-${n}-${Math.random()}`,
              token,
              { msgtype: 'm.text', body: `message ${n}` },
            );
            if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
            sent++;
          }
        }),
      );
      return sent / SECONDS;
    };
    const oneRoom = await throughput(() => shared);
    const manyRooms = await throughput((i) => own[i]);

    // Wake-up latency: a long-polling /sync in the shared room, woken by a send from another user.
    const latencies: number[] = [];
    let since = (await server.request('GET', '/_matrix/client/v3/sync?timeout=0', tokens[1])).body.next_batch;
    for (let n = 0; n < 200; n++) {
      const poll = server.request('GET', `/_matrix/client/v3/sync?timeout=10000&since=${since}`, tokens[1]);
      await new Promise((r) => setTimeout(r, 5));
      const t0 = performance.now();
      await server.request(
        'PUT',
        `/_matrix/client/v3/rooms/${encodeURIComponent(shared)}/send/m.room.message/w${n}`,
        tokens[0],
        {
          msgtype: 'm.text',
          body: 'wake up',
        },
      );
      const res = await poll;
      latencies.push(performance.now() - t0);
      since = res.body.next_batch;
    }
    return [
      {
        name: `send throughput, ${CLIENTS} clients into one room`,
        value: `${oneRoom.toFixed(0)} events/s`,
        target: '≥ 500 events/s',
        ok: oneRoom >= 500,
      },
      {
        name: `send throughput, ${CLIENTS} clients across ${CLIENTS} rooms`,
        value: `${manyRooms.toFixed(0)} events/s`,
        target: '≥ 1,500 events/s',
        ok: manyRooms >= 1500,
      },
      {
        name: 'send → waiting /sync returns, p50 / p99',
        value: `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))}`,
        target: 'p99 < 50 ms',
        ok: percentile(latencies, 99) < 50,
      },
    ];
  } finally {
    await server.stop();
  }
}
