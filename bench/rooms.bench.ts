import { BenchServer, ms, percentile, type BenchFigure } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CLIENTS = 20;
/** Devices per user for the busier variant: 100 clients sending at once, 5 into each room. */
const DEVICES = 5;

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

    // Each client sends one message after another into its room (client i is user i % CLIENTS).
    const throughput = async (clients: string[], roomOf: (i: number) => string) => {
      let sent = 0;
      const deadline = performance.now() + SECONDS * 1000;
      await Promise.all(
        clients.map(async (token, i) => {
          for (let n = 0; performance.now() < deadline; n++) {
            const res = await server.request(
              'PUT',
              `/_matrix/client/v3/rooms/${encodeURIComponent(roomOf(i % CLIENTS))}/send/m.room.message/t${i}-${n}-${Math.random()}`,
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
    const oneRoom = await throughput(tokens, () => shared);
    const manyRooms = await throughput(tokens, (i) => own[i]);

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
    // Last, as it leaves the most events behind (the wake-up figures above are not measured on them).
    const devices = [
      ...tokens,
      ...(await Promise.all(
        Array.from({ length: CLIENTS * (DEVICES - 1) }, (_, i) =>
          server.login(`u_${i % CLIENTS}`, 'seed-password'),
        ),
      )),
    ];
    const busier = await throughput(devices, (i) => own[i]);
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
        name: `send throughput, ${devices.length} clients (${DEVICES} devices per user) across ${CLIENTS} rooms`,
        value: `${busier.toFixed(0)} events/s`,
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
