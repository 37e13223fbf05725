import { RoomClient, client, expectStatus } from './helpers/room-client.js';
import { TestApp, testEnvironment } from './helpers/test-app.js';

/**
 * Each process remembers the room state its auth checks read (RoomStateCache), trusting it only
 * while the room's latest event is the one it remembered. Two applications on one database stand
 * for two API processes: what one of them changes, the other must authorise against at once.
 */
describe('room state written by another process', () => {
  const env = testEnvironment();
  let a: TestApp;
  let b: TestApp;
  /** alice and bob through process A, and the same users through process B. */
  let aliceA: RoomClient;
  let bobA: RoomClient;
  let aliceB: RoomClient;
  let bobB: RoomClient;

  beforeAll(async () => {
    a = await TestApp.start({}, env);
    b = await TestApp.start({}, env);
    aliceA = await client(a, 'alice');
    bobA = await client(a, 'bob');
    aliceB = new RoomClient(b, aliceA.user);
    bobB = new RoomClient(b, bobA.user);
  });

  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  it('a power-level change made through one process applies to sends through the other', async () => {
    const roomId = await aliceA.createRoom({ preset: 'public_chat' });
    await bobA.join(roomId);
    await bobA.send(roomId, 'through A, remembered there');
    const levels = expectStatus(
      await aliceB.get(`/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`),
      200,
    ).body as Record<string, unknown>;
    await aliceB.state(roomId, 'm.room.power_levels', { ...levels, events_default: 50 });
    const refused = await bobA.sendRaw(roomId, { msgtype: 'm.text', body: 'not any more' });
    expect([refused.status, refused.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    await aliceA.send(roomId, 'alice still may');
  });

  it('a member who left through one process cannot send through the other', async () => {
    const roomId = await aliceA.createRoom({ preset: 'public_chat' });
    await bobA.join(roomId);
    await bobA.send(roomId, 'hello');
    await bobB.leave(roomId);
    const refused = await bobA.sendRaw(roomId, { msgtype: 'm.text', body: 'still here?' });
    expect([refused.status, refused.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    // And joining again through B is seen by A.
    await bobB.join(roomId);
    await bobA.send(roomId, 'back');
  });
});
