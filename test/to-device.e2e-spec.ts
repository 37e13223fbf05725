import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { CS, RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/**
 * Send-to-device messages (how clients share end-to-end encryption keys): stored per device,
 * delivered in that device's /sync until the client syncs on past them, sent once per transaction.
 */
describe('sendToDevice', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  let bobLaptop: RoomClient;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await client(t, 'alice');
    bob = await client(t, 'bob');
    bobLaptop = await loginBob('LAPTOP');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Bob signed in again, as a device with this ID. */
  const loginBob = async (deviceId: string) => {
    const res = expectStatus(
      await t.http.post(`${CS}/login`).send({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: 'bob' },
        password: 'correct horse battery',
        device_id: deviceId,
      }),
      200,
    );
    return new RoomClient(t, {
      ...bob.user,
      accessToken: res.body.access_token,
      deviceId: res.body.device_id,
    });
  };
  const PATH = '/sendToDevice/{eventType}/{txnId}';
  const send = (from: RoomClient, txnId: string, messages: unknown, type = 'm.room_key_request') =>
    from.put(`/sendToDevice/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`, { messages });
  const syncOf = async (c: RoomClient, query: Record<string, string | number> = {}) => {
    const res = expectStatus(await c.syncRaw(query), 200);
    expectMatchesSpec(res, 'sync.yaml', 'get', '/sync');
    return res.body;
  };

  it('delivers to the device named, and to every device for *, until the client syncs past it', async () => {
    const phoneSince = (await syncOf(bob)).next_batch;
    const laptopSince = (await syncOf(bobLaptop)).next_batch;
    const res = await send(alice, 't1', {
      [bob.userId]: { [bob.user.deviceId]: { secret: 'for the phone' } },
    });
    expectMatchesSpec(expectStatus(res, 200), 'to_device.yaml', 'put', PATH);
    expect(res.body).toEqual({});
    expectStatus(await send(alice, 't2', { [bob.userId]: { '*': { secret: 'for all' } } }), 200);

    const phone = await syncOf(bob, { since: phoneSince });
    expect(phone.to_device.events).toEqual([
      { sender: alice.userId, type: 'm.room_key_request', content: { secret: 'for the phone' } },
      { sender: alice.userId, type: 'm.room_key_request', content: { secret: 'for all' } },
    ]);
    const laptop = await syncOf(bobLaptop, { since: laptopSince });
    expect(laptop.to_device.events.map((e: Any) => e.content)).toEqual([{ secret: 'for all' }]);

    // Syncing again from the same token (a lost answer) brings them again; syncing on, never.
    expect((await syncOf(bob, { since: phoneSince })).to_device.events).toHaveLength(2);
    const next = await syncOf(bob, { since: phone.next_batch });
    expect(next.to_device.events).toEqual([]);
    expect((await syncOf(bob, { since: phoneSince })).to_device.events).toEqual([]);
  });

  it('sends once per transaction ID, and drops messages for unknown devices and other servers', async () => {
    const since = (await syncOf(bob)).next_batch;
    const messages = {
      [bob.userId]: { [bob.user.deviceId]: { n: 1 }, NOSUCHDEVICE: { n: 2 } },
      '@x:other.example': { D: {} },
    };
    expectStatus(await send(alice, 'once', messages), 200);
    expectStatus(await send(alice, 'once', messages), 200);
    const body = await syncOf(bob, { since });
    expect(body.to_device.events.map((e: Any) => e.content)).toEqual([{ n: 1 }]);
  });

  it('carries at most 100 messages per sync; the rest come with the next, none lost or repeated', async () => {
    const since = (await syncOf(bob)).next_batch;
    for (let i = 0; i < 150; i++) {
      expectStatus(await send(alice, `many-${i}`, { [bob.userId]: { [bob.user.deviceId]: { i } } }), 200);
    }
    const first = await syncOf(bob, { since });
    expect(first.to_device.events.map((e: Any) => e.content.i)).toEqual([...Array(100).keys()]);
    // The same token again (an answer lost on the way) brings the same messages.
    const again = await syncOf(bob, { since });
    expect(again.to_device.events.map((e: Any) => e.content.i)).toEqual([...Array(100).keys()]);
    const second = await syncOf(bob, { since: again.next_batch });
    expect(second.to_device.events.map((e: Any) => e.content.i)).toEqual(
      [...Array(50).keys()].map((i) => i + 100),
    );
    expect((await syncOf(bob, { since: second.next_batch })).to_device.events).toEqual([]);
  });

  it('sends one message to a device named twice, and forgets a deleted device', async () => {
    let temp = await loginBob('TEMP');
    const since = (await syncOf(temp)).next_batch;
    expectStatus(
      await send(alice, 'twice', { [bob.userId]: { '*': { n: 'all' }, TEMP: { n: 'own' } } }),
      200,
    );
    expect((await syncOf(temp, { since })).to_device.events.map((e: Any) => e.content)).toEqual([
      { n: 'own' },
    ]);
    expectStatus(
      await temp.put('/sendToDevice/m.x/reused', { messages: { [alice.userId]: { '*': { v: 1 } } } }),
      200,
    );

    // Logged out and in again under the same ID: a new device, without the old one's messages...
    expectStatus(await temp.post('/logout'), 200);
    temp = await loginBob('TEMP');
    expect((await syncOf(temp)).to_device.events).toEqual([]);
    // ...and with transaction IDs of its own.
    const aliceSince = (await syncOf(alice)).next_batch;
    expectStatus(
      await temp.put('/sendToDevice/m.x/reused', { messages: { [alice.userId]: { '*': { v: 2 } } } }),
      200,
    );
    expect((await syncOf(alice, { since: aliceSince })).to_device.events.map((e: Any) => e.content)).toEqual([
      { v: 2 },
    ]);
  });

  it('wakes a waiting /sync of the target device', async () => {
    const since = (await syncOf(bobLaptop)).next_batch;
    const started = Date.now();
    const poll = syncOf(bobLaptop, { since, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    expectStatus(await send(alice, 'wake', { [bob.userId]: { LAPTOP: { wake: true } } }), 200);
    const body = await poll;
    expect(body.to_device.events.map((e: Any) => e.content)).toEqual([{ wake: true }]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers bad input with Matrix errors and stores nothing', async () => {
    const since = (await syncOf(bob)).next_batch;
    const cases: [unknown, number, string][] = [
      ['not an object', 400, 'M_BAD_JSON'],
      [{ 'not-a-user': { D: {} } }, 400, 'M_INVALID_PARAM'],
      [{ [bob.userId]: 'x' }, 400, 'M_BAD_JSON'],
      [{ [bob.userId]: { [bob.user.deviceId]: 'not an object' } }, 400, 'M_BAD_JSON'],
      [{ [bob.userId]: { [bob.user.deviceId]: { a: 'nul \u0000' } } }, 400, 'M_BAD_JSON'],
    ];
    for (const [messages, status, errcode] of cases) {
      const res = await send(alice, `bad-${status}-${errcode}-${JSON.stringify(messages).length}`, messages);
      expect([JSON.stringify(messages), res.status, res.body.errcode]).toEqual([
        JSON.stringify(messages),
        status,
        errcode,
      ]);
    }
    const noMessages = await alice.put('/sendToDevice/m.x/nomessages', {});
    expect([noMessages.status, noMessages.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    const longType = await send(alice, 'long', {}, 'x'.repeat(300));
    expect([longType.status, longType.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const anonymous = await t.http.put(`${CS}/sendToDevice/m.x/anon`).send({ messages: {} });
    expect(anonymous.status).toBe(401);
    expect((await syncOf(bob, { since })).to_device.events).toEqual([]);
  });
});
