import { Redis } from 'ioredis';
import { TestApp, auth, testEnvironment, type TestUser } from './helpers/test-app.js';
import { waitFor } from './helpers/wait.js';

const V3 = '/_matrix/client/v3';

/**
 * Each API process caches access tokens (AccessTokenCache). Two applications on one database and
 * one Redis namespace stand for two processes: a session ended through one must stop working in
 * both, and a process that may have missed the news must stop trusting what it cached.
 */
describe('access tokens across API processes', () => {
  const env = testEnvironment();
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await TestApp.start({}, env);
    b = await TestApp.start({}, env);
  });

  afterAll(async () => {
    await b?.stop();
    await a?.close();
  });

  const whoami = (app: TestApp, token: string) =>
    app.http.get(`${V3}/account/whoami`).set('Authorization', `Bearer ${token}`);

  /** Both processes answer 200 for the token, so both have it cached. */
  async function cachedInBoth(user: TestUser): Promise<void> {
    for (const app of [a, b]) expect((await whoami(app, user.accessToken)).status).toBe(200);
  }

  /**
   * The other process hears of a revocation through Redis a moment after the change is answered:
   * wait for that (a bounded wait, far below the cache's one-minute lifetime, not a timing claim).
   */
  async function refusedBy(app: TestApp, token: string): Promise<{ status: number; errcode: string }> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const res = await whoami(app, token);
      if (res.status !== 200 || Date.now() > deadline)
        return { status: res.status, errcode: res.body.errcode };
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a logout through one process ends the session in the other', async () => {
    const lou = await a.register('lou');
    await cachedInBoth(lou);
    expect((await a.http.post(`${V3}/logout`).set(auth(lou)).send({})).status).toBe(200);
    expect((await whoami(a, lou.accessToken)).status).toBe(401);
    expect(await refusedBy(b, lou.accessToken)).toEqual({ status: 401, errcode: 'M_UNKNOWN_TOKEN' });
  });

  it('logout/all through one process ends every session of the user in the other', async () => {
    const first = await a.register('lin');
    const login = await b.http.post(`${V3}/login`).send({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'lin' },
      password: 'correct horse battery',
    });
    expect(login.status).toBe(200);
    const second: TestUser = {
      ...first,
      accessToken: login.body.access_token,
      deviceId: login.body.device_id,
    };
    await cachedInBoth(first);
    await cachedInBoth(second);
    expect((await b.http.post(`${V3}/logout/all`).set(auth(second)).send({})).status).toBe(200);
    for (const app of [a, b]) {
      for (const user of [first, second]) expect((await refusedBy(app, user.accessToken)).status).toBe(401);
    }
  });

  it('logging in again with the same device retires its previous token in both processes', async () => {
    const lea = await a.register('lea');
    await cachedInBoth(lea);
    const again = await a.http.post(`${V3}/login`).send({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'lea' },
      password: 'correct horse battery',
      device_id: lea.deviceId,
    });
    expect(again.status).toBe(200);
    for (const app of [a, b]) {
      expect((await refusedBy(app, lea.accessToken)).status).toBe(401);
      expect((await whoami(app, again.body.access_token)).body).toMatchObject({ device_id: lea.deviceId });
    }
  });

  it('admin routes (and whois) read the account afresh, so a promotion or demotion by SQL applies at once', async () => {
    const ada = await a.register('ada');
    const other = await a.register('other');
    await cachedInBoth(ada);
    const whois = (app: TestApp) =>
      app.http.get(`/_synapse/admin/v1/whois/${encodeURIComponent(other.userId)}`).set(auth(ada));
    const jobs = (app: TestApp) => app.http.get('/_lattice/admin/v1/jobs').set(auth(ada));
    expect((await whois(b)).status).toBe(403);
    expect((await jobs(b)).status).toBe(403);
    await a.sql(`UPDATE userapi_accounts SET account_type = 3 WHERE localpart = 'ada'`);
    expect((await whois(b)).status).toBe(200);
    expect((await jobs(b)).status).toBe(200);
    await a.sql(`UPDATE userapi_accounts SET account_type = 1 WHERE localpart = 'ada'`);
    expect((await whois(b)).status).toBe(403);
    expect((await jobs(b)).status).toBe(403);
  });

  it('a process whose Redis subscription drops forgets its cached tokens', async () => {
    const max = await a.register('max');
    await cachedInBoth(max);
    // Deleted behind the server's back: no revocation is announced, so only the lost
    // subscription can make the processes read the token again.
    await a.sql(`DELETE FROM userapi_devices WHERE localpart = 'max'`);
    expect((await whoami(b, max.accessToken)).status).toBe(200);
    const redis = new Redis(env.REDIS_URL);
    /** Our processes' revocation subscribers, as Redis lists them ("id=… name=… sub=1 …"). */
    const subscribers = async () =>
      ((await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
        .split('\n')
        .filter((line) => line.includes(`name=${env.REDIS_KEY_PREFIX}:accounts:tokens-revoked `));
    try {
      const ours = (await subscribers()).map((line) => /\bid=(\d+)/.exec(line)![1]);
      expect(ours).toHaveLength(2);
      for (const id of ours) await redis.call('CLIENT', 'KILL', 'ID', id);
      for (const app of [a, b]) {
        expect(await refusedBy(app, max.accessToken)).toEqual({ status: 401, errcode: 'M_UNKNOWN_TOKEN' });
      }
      // Both reconnect and subscribe again, and revocations reach them as before.
      await waitFor(
        async () => (await subscribers()).filter((line) => / sub=1 /.test(line)).length === 2,
        'both processes to subscribe again',
      );
      const mia = await a.register('mia');
      await cachedInBoth(mia);
      expect((await b.http.post(`${V3}/logout`).set(auth(mia)).send({})).status).toBe(200);
      expect(await refusedBy(a, mia.accessToken)).toEqual({ status: 401, errcode: 'M_UNKNOWN_TOKEN' });
    } finally {
      await redis.quit();
    }
  });
});
