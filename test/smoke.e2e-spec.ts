import { TestApp, auth } from './helpers/test-app.js';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await TestApp.start();
  });
  afterAll(async () => {
    await t.close();
  });

  it('registers, logs in and answers whoami', async () => {
    const alice = await t.register('alice');
    const who = await t.http.get('/_matrix/client/v3/account/whoami').set(auth(alice));
    expect(who.status).toBe(200);
    expect(who.body).toEqual({ user_id: '@alice:test', device_id: alice.deviceId, is_guest: false });
  });
});
