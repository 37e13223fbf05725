import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { silentLogger, unrefLongTimers } from './helpers/sdk-support.js';
import { TestApp, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

/**
 * The whole chat flow of issue 3, driven by the official client library against the real server:
 * two users sync, create a room, invite, join, talk, rename, scroll back, redact and leave.
 */

describe('matrix-js-sdk end to end', () => {
  let restoreTimers: () => void;
  let t: TestApp;
  let alice: sdk.MatrixClient;
  let bob: sdk.MatrixClient;
  let aliceUser: TestUser;
  let bobUser: TestUser;

  const start = async (user: TestUser) => {
    const client = sdk.createClient({
      baseUrl: t.baseUrl,
      accessToken: user.accessToken,
      userId: user.userId,
      deviceId: user.deviceId,
      logger: silentLogger,
    });
    const prepared = new Promise<void>((resolve, reject) => {
      client.on(sdk.ClientEvent.Sync, (state) => {
        if (state === sdk.SyncState.Prepared) resolve();
        if (state === sdk.SyncState.Error) reject(new Error(`sync error for ${user.userId}`));
      });
    });
    await client.startClient({ initialSyncLimit: 10 });
    await prepared;
    return client;
  };

  beforeAll(async () => {
    restoreTimers = unrefLongTimers();
    (sdkLogger as unknown as { setLevel(level: string): void }).setLevel('silent');
    t = await TestApp.start();
    aliceUser = await t.register('alice');
    bobUser = await t.register('bob');
    alice = await start(aliceUser);
    bob = await start(bobUser);
  });

  afterAll(async () => {
    alice?.stopClient();
    bob?.stopClient();
    await t.close();
    restoreTimers();
  });

  const texts = (client: sdk.MatrixClient, roomId: string) =>
    client
      .getRoom(roomId)
      ?.getLiveTimeline()
      .getEvents()
      .filter((e) => e.getType() === 'm.room.message')
      .map((e) => e.getContent().body as string) ?? [];

  it('runs the whole chat flow', async () => {
    const { room_id: roomId } = await alice.createRoom({ name: 'Lunch', preset: sdk.Preset.PrivateChat });
    await waitFor(() => alice.getRoom(roomId)?.getMyMembership() === 'join', 'alice to see her room');

    await alice.invite(roomId, bobUser.userId);
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === 'invite', 'bob to see the invite in sync');
    expect(bob.getRoom(roomId)?.name).toBe('Lunch');

    await bob.joinRoom(roomId);
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === 'join', 'bob to be joined');
    await waitFor(
      () => alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === 'join',
      'alice to see bob join',
    );

    await alice.sendTextMessage(roomId, 'hello bob');
    await waitFor(() => texts(bob, roomId).includes('hello bob'), "bob to receive alice's message");
    const { event_id: bobsMessage } = await bob.sendTextMessage(roomId, 'hello alice');
    await waitFor(() => texts(alice, roomId).includes('hello alice'), "alice to receive bob's message");

    await alice.setRoomName(roomId, 'Dinner');
    await alice.setRoomTopic(roomId, 'Where shall we eat?');
    await waitFor(() => bob.getRoom(roomId)?.name === 'Dinner', 'bob to see the new name');
    await waitFor(
      () =>
        bob.getRoom(roomId)?.currentState.getStateEvents('m.room.topic', '')?.getContent().topic ===
        'Where shall we eat?',
      'bob to see the topic',
    );

    // Enough history that a fresh client has to page back for it.
    for (let i = 0; i < 15; i++) await alice.sendTextMessage(roomId, `message ${i}`);
    await waitFor(() => texts(bob, roomId).includes('message 14'), 'bob to receive the burst');
    const reader = sdk.createClient({
      baseUrl: t.baseUrl,
      accessToken: bobUser.accessToken,
      userId: bobUser.userId,
      deviceId: bobUser.deviceId,
      logger: silentLogger,
    });
    const history = await reader.createMessagesRequest(roomId, null, 30, sdk.Direction.Backward);
    const bodies = history.chunk.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
    expect(bodies.slice(0, 3)).toEqual(['message 14', 'message 13', 'message 12']);
    expect(bodies).toContain('hello bob');
    const older = await reader.createMessagesRequest(roomId, history.end!, 30, sdk.Direction.Backward);
    expect(older.chunk.length + history.chunk.length).toBeGreaterThan(20);
    expect(older.end).toBeUndefined();

    await bob.redactEvent(roomId, bobsMessage);
    await waitFor(
      () => alice.getRoom(roomId)?.findEventById(bobsMessage)?.isRedacted(),
      'alice to see the redaction',
    );
    expect(alice.getRoom(roomId)?.findEventById(bobsMessage)?.getContent()).toEqual({});

    await bob.leave(roomId);
    await waitFor(
      () => bob.getRoom(roomId)?.getMyMembership() === 'leave',
      "the room to move to bob's leave section",
    );
    await waitFor(
      () => alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === 'leave',
      'alice to see bob leave',
    );
  });
});
