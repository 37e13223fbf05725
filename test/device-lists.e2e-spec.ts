import { expectMatchesSpec } from './helpers/matrix-schema.js';
import { RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp } from './helpers/test-app.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/**
 * device_lists in /sync and GET /keys/changes (client-server spec, "Tracking the device list for a
 * user"): who to re-fetch keys for, and who no longer shares a room, between two stream tokens.
 */
describe('device-list tracking', () => {
  let t: TestApp;
  let alice: RoomClient;
  let bob: RoomClient;
  let carol: RoomClient;
  let dave: RoomClient;
  let room: string;

  const uploadKeys = async (c: RoomClient, name = 'key') => {
    const { userId, deviceId } = c.user;
    const res = await c.post('/keys/upload', {
      device_keys: {
        user_id: userId,
        device_id: deviceId,
        algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
        keys: { [`curve25519:${deviceId}`]: `curve-${name}`, [`ed25519:${deviceId}`]: `ed-${name}` },
        signatures: { [userId]: { [`ed25519:${deviceId}`]: `sig-${name}` } },
      },
    });
    expectStatus(res, 200);
  };

  /** An incremental sync checked against the spec; returns its device_lists and next token. */
  const syncLists = async (c: RoomClient, since: string): Promise<{ lists: Any; next: string }> => {
    const res = expectStatus(await c.syncRaw({ since }), 200);
    expectMatchesSpec(res, 'sync.yaml', 'get', '/sync');
    return { lists: res.body.device_lists ?? { changed: [], left: [] }, next: res.body.next_batch };
  };

  const keysChanges = async (c: RoomClient, from: string, to: string): Promise<Any> => {
    const res = expectStatus(await c.get(`/keys/changes?from=${from}&to=${to}`), 200);
    expectMatchesSpec(res, 'keys.yaml', 'get', '/keys/changes');
    return res.body;
  };

  /** /sync's device_lists and /keys/changes agree for the same two tokens. */
  const expectLists = async (
    c: RoomClient,
    since: string,
    expected: { changed: string[]; left: string[] },
  ) => {
    const { lists, next } = await syncLists(c, since);
    expect(lists).toEqual(expected);
    expect(await keysChanges(c, since, next)).toEqual(expected);
    return next;
  };

  beforeAll(async () => {
    t = await TestApp.start();
    [alice, bob, carol, dave] = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((name) => client(t, name)),
    );
    room = await alice.createRoom({
      preset: 'public_chat',
      initial_state: [
        { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
      ],
    });
    await bob.join(room);
  });
  afterAll(async () => {
    await t.close();
  });

  it('an initial sync lists nothing', async () => {
    await uploadKeys(bob);
    const body = await alice.sync();
    expect(body.device_lists ?? { changed: [], left: [] }).toEqual({ changed: [], left: [] });
  });

  it('lists key changes of users sharing a room, and the user’s own, but not of strangers', async () => {
    const { next_batch: since } = await alice.sync();
    await uploadKeys(bob, 'bob-2');
    await uploadKeys(dave, 'dave-1'); // shares no room with alice
    await uploadKeys(alice, 'alice-1');
    await expectLists(alice, since, { changed: [alice.userId, bob.userId], left: [] });
    // The stranger does see their own change.
    const daveSince = `s0`;
    expect((await keysChanges(dave, daveSince, (await dave.sync()).next_batch)).changed).toEqual([
      dave.userId,
    ]);
  });

  it('lists users who newly share a room: someone joining, or the members of a room the user joins', async () => {
    const { next_batch: since } = await alice.sync();
    await carol.join(room); // carol has uploaded no keys: listed for joining alone
    await expectLists(alice, since, { changed: [carol.userId], left: [] });

    const { next_batch: before } = await alice.sync();
    const daveRoom = await dave.createRoom({ preset: 'public_chat' });
    await alice.join(daveRoom);
    await expectLists(alice, before, { changed: [dave.userId], left: [] });
    // And dave, in whose room alice arrived, hears of her.
    const { lists } = await syncLists(dave, before);
    expect(lists).toEqual({ changed: [alice.userId], left: [] });
    await alice.leave(daveRoom);
  });

  it('lists users who no longer share any room as left, whoever left', async () => {
    const { next_batch: since } = await alice.sync();
    const { next_batch: bobSince } = await bob.sync();
    await bob.leave(room);
    // bob changing keys after leaving is no longer alice's business.
    await uploadKeys(bob, 'bob-3');
    await expectLists(alice, since, { changed: [], left: [bob.userId] });
    // bob's side: everyone he shared the room with, but his own key change too.
    await expectLists(bob, bobSince, { changed: [bob.userId], left: [alice.userId, carol.userId].sort() });
  });

  it('leaving one of two shared rooms does not make the other user "left"', async () => {
    const second = await carol.createRoom({ preset: 'public_chat' });
    await alice.join(second);
    const { next_batch: since } = await alice.sync();
    await alice.leave(second);
    await expectLists(alice, since, { changed: [], left: [] });
  });

  it('the range asked of /keys/changes bounds the answer', async () => {
    const { next_batch: from } = await alice.sync();
    await uploadKeys(carol, 'carol-1');
    const { next_batch: middle } = await alice.sync({ since: from });
    await uploadKeys(alice, 'alice-2');
    const { next_batch: to } = await alice.sync({ since: middle });
    expect(await keysChanges(alice, from, middle)).toEqual({ changed: [carol.userId], left: [] });
    expect(await keysChanges(alice, middle, to)).toEqual({ changed: [alice.userId], left: [] });
    expect(await keysChanges(alice, to, from)).toEqual({ changed: [], left: [] });
    // Without `to`, or with one past the head: up to now.
    const open = expectStatus(await alice.get(`/keys/changes?from=${from}`), 200).body;
    expect(open).toEqual({ changed: [alice.userId, carol.userId], left: [] });
    expect(await keysChanges(alice, from, 's99999999')).toEqual(open);
    for (const q of ['from=nonsense&to=s1', `from=${from}&to=later`]) {
      const res = await alice.get(`/keys/changes?${q}`);
      expect({ q, status: res.status, errcode: res.body.errcode }).toEqual({
        q,
        status: 400,
        errcode: 'M_INVALID_PARAM',
      });
    }
  });

  it('a waiting /sync wakes when someone sharing a room changes their keys', async () => {
    // Users of their own, so nothing earlier in this file can wake the long-poll.
    const [erin, frank] = await Promise.all([client(t, 'erin'), client(t, 'frank')]);
    await erin.join(await frank.createRoom({ preset: 'public_chat' }));
    const { next_batch: since } = await erin.sync();
    const started = Date.now();
    // then() sends the request now (supertest sends it only once awaited).
    const waiting = erin.syncRaw({ since, timeout: 10_000 }).then((res) => res);
    await new Promise((r) => setTimeout(r, 200));
    await uploadKeys(frank);
    const res = expectStatus(await waiting, 200);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.body.device_lists).toEqual({ changed: [frank.userId], left: [] });
  });
});
