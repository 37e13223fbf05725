import { join } from 'node:path';
import request from 'supertest';
import { ServerProcess, compileSources, freePort, scratchDir } from './helpers/compiled-app.js';
import { CS, RoomClient, bodies, client, expectStatus, txn } from './helpers/room-client.js';
import { TestApp, testEnvironment, type TestUser } from './helpers/test-app.js';

/**
 * Two server processes on one database and one Redis namespace, as an operator scales out: this
 * test process (A) and a real second process (B, `main.js` compiled from the current sources).
 * A /sync waiting on one wakes when a message is sent through the other, and concurrent sends
 * through both into one room keep its history linear.
 */
describe('two server processes', () => {
  const env = testEnvironment();
  let a: TestApp;
  let b: ServerProcess;
  let bUrl: string;
  let build: Awaited<ReturnType<typeof compileSources>>;
  let alice: RoomClient;
  let bob: TestUser;
  let roomId: string;

  /** bob's requests, sent to process B. */
  const viaB = {
    get: (path: string) =>
      request(bUrl)
        .get(CS + path)
        .set('Authorization', `Bearer ${bob.accessToken}`),
    put: (path: string, body: object) =>
      request(bUrl)
        .put(CS + path)
        .set('Authorization', `Bearer ${bob.accessToken}`)
        .send(body),
    post: (path: string, body: object = {}) =>
      request(bUrl)
        .post(CS + path)
        .set('Authorization', `Bearer ${bob.accessToken}`)
        .send(body),
  };

  beforeAll(async () => {
    [a, build] = await Promise.all([TestApp.start({}, env), compileSources()]);
    const port = await freePort();
    bUrl = `http://127.0.0.1:${port}`;
    b = ServerProcess.start(
      join(build.dir, 'src', 'main.js'),
      { ...env, ROLE: 'api', PORT: String(port), PUBLIC_BASEURL: bUrl },
      scratchDir(),
    );
    await b.waitHealthy(bUrl);
    alice = await client(a, 'alice');
    bob = await a.register('bob');
    roomId = await alice.createRoom({ preset: 'public_chat' });
    expectStatus(await viaB.post(`/join/${encodeURIComponent(roomId)}`), 200);
  }, 60_000);

  afterAll(async () => {
    await b?.stop();
    build?.remove();
    await a?.close();
  });

  it('a /sync waiting on B wakes when a message is sent through A', async () => {
    const { next_batch: since } = expectStatus(await viaB.get('/sync'), 200).body;
    const waiting = viaB.get(`/sync?timeout=30000&since=${since}`).then((res) => ({ res, at: Date.now() }));
    // Let the request reach B and start waiting; the outcome does not depend on it.
    await new Promise((r) => setTimeout(r, 200));
    const sentAt = Date.now();
    await alice.send(roomId, 'from A');
    const { res, at } = await waiting;
    console.log(`sync on B answered ${at - sentAt} ms after the send through A`);
    expect(bodies(expectStatus(res, 200).body.rooms.join[roomId].timeline.events)).toEqual(['from A']);
  }, 20_000);

  it('a /sync waiting on A wakes when a message is sent through B', async () => {
    const { next_batch: since } = await alice.sync();
    const waiting = alice.syncRaw({ since, timeout: 30_000 }).then((res) => ({ res, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 200));
    const sentAt = Date.now();
    expectStatus(
      await viaB.put(`/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn()}`, {
        msgtype: 'm.text',
        body: 'from B',
      }),
      200,
    );
    const { res, at } = await waiting;
    console.log(`sync on A answered ${at - sentAt} ms after the send through B`);
    expect(bodies(expectStatus(res, 200).body.rooms.join[roomId].timeline.events)).toEqual(['from B']);
  }, 20_000);

  it('concurrent sends through both processes into one room never fork its history', async () => {
    const room = await alice.createRoom({ preset: 'public_chat' });
    expectStatus(await viaB.post(`/join/${encodeURIComponent(room)}`), 200);
    const perProcess = 40;
    const inFlight = 5;
    const sendMany = async (send: (i: number) => Promise<{ status: number }>) => {
      for (let i = 0; i < perProcess; i += inFlight) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(inFlight, perProcess - i) }, (_, k) => send(i + k)),
        );
        for (const res of batch) expect(res.status).toBe(200);
      }
    };
    await Promise.all([
      sendMany((i) => alice.sendRaw(room, { msgtype: 'm.text', body: `A${i}` })),
      sendMany((i) =>
        viaB.put(`/rooms/${encodeURIComponent(room)}/send/m.room.message/${txn()}`, {
          msgtype: 'm.text',
          body: `B${i}`,
        }),
      ),
    ]);

    const rows = await a.sql<{ event_id: string; pdu: string; stream_pos: string }>(
      `SELECT event_id, pdu, stream_pos FROM room_events WHERE room_id = $1 ORDER BY stream_pos`,
      [room],
    );
    const pdus = rows.map((r) => JSON.parse(r.pdu) as { depth: number; prev_events: string[] });
    expect(pdus[0].prev_events).toEqual([]);
    for (let i = 1; i < rows.length; i++) {
      expect({ i, prev: pdus[i].prev_events, depth: pdus[i].depth }).toEqual({
        i,
        prev: [rows[i - 1].event_id],
        depth: pdus[i - 1].depth + 1,
      });
    }
    expect(rows.filter((r) => JSON.parse(r.pdu).type === 'm.room.message')).toHaveLength(2 * perProcess);
    const [head] = await a.sql<{ last_event_id: string; last_depth: string }>(
      `SELECT last_event_id, last_depth FROM rooms WHERE room_id = $1`,
      [room],
    );
    expect(head.last_event_id).toBe(rows[rows.length - 1].event_id);
    expect(Number(head.last_depth)).toBe(rows.length);
    // Both processes see the same history.
    const fromA = (await alice.messages(room, { dir: 'f', limit: 200 })).body.chunk.map(
      (e: { event_id: string }) => e.event_id,
    );
    const fromB = (
      await viaB.get(`/rooms/${encodeURIComponent(room)}/messages?dir=f&limit=200`)
    ).body.chunk.map((e: { event_id: string }) => e.event_id);
    expect(fromB).toEqual(fromA);
    expect(fromA).toEqual(rows.map((r) => r.event_id));
  }, 60_000);

  // Last: it stops B.
  it('typing accepted by B ends on time for a /sync waiting on A, even once B is gone', async () => {
    const { next_batch: since } = await alice.sync();
    const path = `/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(bob.userId)}`;
    expectStatus(await viaB.put(path, { typing: true, timeout: 1500 }), 200);
    const started = await alice.sync({ since, timeout: 10_000 });
    expect(started.rooms.join[roomId].ephemeral.events).toEqual([
      { type: 'm.typing', content: { user_ids: [bob.userId] } },
    ]);
    // The typing state is in the database, not in B's memory: A ends it without B.
    await b.stop();
    const waitFrom = Date.now();
    const ended = await alice.sync({ since: started.next_batch, timeout: 10_000 });
    console.log(`typing end reached the /sync on A ${Date.now() - waitFrom} ms after it started waiting`);
    expect(ended.rooms.join[roomId].ephemeral.events).toEqual([
      { type: 'm.typing', content: { user_ids: [] } },
    ]);
    expect(Date.now() - waitFrom).toBeLessThan(5000);
  }, 20_000);
});
