import bcrypt from 'bcrypt';
import { Redis } from 'ioredis';
import { QueueEvents } from 'bullmq';
import { registrationMac } from '../src/admin/services/shared-secret.js';
import { JobService } from '../src/jobs/job.service.js';
import { SHARED_SECRET, TestApp, auth, type TestUser } from './helpers/test-app.js';

const V3 = '/_matrix/client/v3';
const REGISTER = '/_synapse/admin/v1/register';
const RESET = '/_dendrite/admin/resetPassword';
const PASSWORD = 'correct horse battery';

describe('admin endpoints for accounts', () => {
  let t: TestApp;
  let redis: Redis;
  let admin: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await TestApp.start();
    redis = new Redis(t.config.REDIS_URL, { keyPrefix: `${t.config.REDIS_KEY_PREFIX}:` });
    admin = await t.registerAdmin('root');
    bob = await t.register('bob');
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  const login = (user: string, password: string) =>
    t.http.post(`${V3}/login`).send({ type: 'm.login.password', user, password });
  const whoami = (user: TestUser) => t.http.get(`${V3}/account/whoami`).set(auth(user));

  async function nonce(): Promise<string> {
    const res = await t.http.get(REGISTER);
    expect(res.status).toBe(200);
    return res.body.nonce as string;
  }

  describe('shared-secret registration (/_synapse/admin/v1/register)', () => {
    it('hands out single-use nonces that live in Redis for at most five minutes', async () => {
      const n = await nonce();
      expect(n).toMatch(/^[A-Za-z0-9]{16,}$/);
      const ttl = await redis.ttl(`register-nonce:${n}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
      expect(await nonce()).not.toBe(n);
    });

    it('registers a user with a correct MAC; the nonce cannot be used again', async () => {
      const n = await nonce();
      const mac = registrationMac(SHARED_SECRET, n, 'carol', PASSWORD, false);
      const res = await t.http
        .post(REGISTER)
        .send({ nonce: n, username: 'carol', password: PASSWORD, mac, admin: false });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        user_id: '@carol:test',
        access_token: expect.any(String),
        device_id: 'shared_secret_registration',
      });
      const who = await t.http
        .get(`${V3}/account/whoami`)
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(who.body.user_id).toBe('@carol:test');
      expect(await t.sql(`SELECT account_type FROM userapi_accounts WHERE localpart = 'carol'`)).toEqual([
        { account_type: 1 },
      ]);
      // No admin rights.
      const jobs = await t.http
        .get('/_lattice/admin/v1/jobs')
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(jobs.status).toBe(403);
      // The display name defaults to the localpart.
      expect((await t.http.get(`${V3}/profile/@carol:test`)).body).toEqual({ displayname: 'carol' });
      expect(await redis.exists(`register-nonce:${n}`)).toBe(0);

      const mac2 = registrationMac(SHARED_SECRET, n, 'carol2', PASSWORD, false);
      const again = await t.http
        .post(REGISTER)
        .send({ nonce: n, username: 'carol2', password: PASSWORD, mac: mac2 });
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ errcode: 'M_UNKNOWN', error: expect.stringMatching(/nonce/i) });
      expect(await t.sql(`SELECT 1 FROM userapi_accounts WHERE localpart = 'carol2'`)).toEqual([]);
    });

    it('refuses a bad MAC with 403 M_FORBIDDEN, and the nonce is spent', async () => {
      const n = await nonce();
      const wrongSecret = registrationMac('not the secret', n, 'mallory', PASSWORD, false);
      const res = await t.http
        .post(REGISTER)
        .send({ nonce: n, username: 'mallory', password: PASSWORD, mac: wrongSecret });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ errcode: 'M_FORBIDDEN', error: 'bad mac' });

      // A MAC for a normal user does not make an admin.
      const n2 = await nonce();
      const notAdminMac = registrationMac(SHARED_SECRET, n2, 'mallory', PASSWORD, false);
      const escalate = await t.http
        .post(REGISTER)
        .send({ nonce: n2, username: 'mallory', password: PASSWORD, mac: notAdminMac, admin: true });
      expect(escalate.status).toBe(403);
      expect(await t.sql(`SELECT 1 FROM userapi_accounts WHERE localpart = 'mallory'`)).toEqual([]);

      const right = registrationMac(SHARED_SECRET, n, 'mallory', PASSWORD, false);
      const replay = await t.http
        .post(REGISTER)
        .send({ nonce: n, username: 'mallory', password: PASSWORD, mac: right });
      expect(replay.status).toBe(400);
    });

    it('makes an admin (account_type 3, with admin rights) and honours displayname', async () => {
      const res = await t.registerWithSecret('rabbit', PASSWORD, true, 'White Rabbit');
      expect(res.status).toBe(200);
      expect(res.body.user_id).toBe('@rabbit:test');
      expect(await t.sql(`SELECT account_type FROM userapi_accounts WHERE localpart = 'rabbit'`)).toEqual([
        { account_type: 3 },
      ]);
      expect((await t.http.get(`${V3}/profile/@rabbit:test`)).body).toEqual({ displayname: 'White Rabbit' });
      const jobs = await t.http
        .get('/_lattice/admin/v1/jobs')
        .set('Authorization', `Bearer ${res.body.access_token}`);
      expect(jobs.status).toBe(200);
      expect((await login('rabbit', PASSWORD)).status).toBe(200);
    });

    it('computes the MAC over the username as sent, then lowercases it', async () => {
      const res = await t.registerWithSecret('MixedCase', PASSWORD);
      expect(res.status).toBe(200);
      expect(res.body.user_id).toBe('@mixedcase:test');
    });

    it.each([
      ['a taken name', 'bob', PASSWORD, 'M_USER_IN_USE'],
      ['an invalid name', 'no way', PASSWORD, 'M_INVALID_USERNAME'],
      ['a leading underscore', '_sys', PASSWORD, 'M_INVALID_USERNAME'],
      ['a 7-character password', 'shortpw', 'sevench', 'M_WEAK_PASSWORD'],
      ['an empty password', 'nopw', '', 'M_MISSING_PARAM'],
      ['a 513-character password', 'longpw', 'p'.repeat(513), 'M_BAD_JSON'],
    ])('refuses %s with a valid MAC', async (_case, username, password, errcode) => {
      const res = await t.registerWithSecret(username, password);
      expect(res.status).toBe(400);
      expect(res.body.errcode).toBe(errcode);
    });

    it('refuses malformed bodies with 400 M_BAD_JSON / M_NOT_JSON', async () => {
      const n = await nonce();
      const cases: [unknown, string][] = [
        [{ nonce: n, username: 'x', password: PASSWORD, mac: 'zz-not-hex' }, 'M_BAD_JSON'],
        [{ nonce: n, password: PASSWORD, mac: 'abcd' }, 'M_BAD_JSON'],
        [{ nonce: n, username: 'x', password: PASSWORD }, 'M_BAD_JSON'],
        [{ nonce: n, username: 'x', password: PASSWORD, mac: 'abcd', admin: 'yes' }, 'M_BAD_JSON'],
        [{ username: 'x', password: PASSWORD, mac: 'abcd' }, 'M_BAD_JSON'],
      ];
      for (const [body, errcode] of cases) {
        const res = await t.http.post(REGISTER).send(body as object);
        expect(res.status).toBe(400);
        expect(res.body.errcode).toBe(errcode);
      }
      const notJson = await t.http.post(REGISTER).set('Content-Type', 'application/json').send('{nonce:');
      expect(notJson.status).toBe(400);
      expect(notJson.body.errcode).toBe('M_NOT_JSON');
    });
  });

  describe('POST /_dendrite/admin/resetPassword/{userID}', () => {
    const reset = (userId: string, body: unknown, as: TestUser = admin) =>
      t.http
        .post(`${RESET}/${userId}`)
        .set(auth(as))
        .send(body as object);

    it('sets a new password (8 characters suffice) and keeps sessions by default', async () => {
      const victim = await t.register('victor');
      const res = await reset('@victor:test', { password: 'eightchr' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ password_updated: true });
      expect((await login('victor', PASSWORD)).status).toBe(403);
      expect((await login('victor', 'eightchr')).status).toBe(200);
      expect((await whoami(victim)).status).toBe(200);
    });

    it('accepts a percent-encoded user ID', async () => {
      await t.register('wendy');
      const res = await reset(encodeURIComponent('@wendy:test'), { password: 'another password' });
      expect(res.status).toBe(200);
      expect((await login('wendy', 'another password')).status).toBe(200);
    });

    it('with logout_devices:true ends every session of the user at once', async () => {
      const user = await t.register('xavier');
      const second = await login('xavier', PASSWORD);
      const res = await reset('@xavier:test', { password: 'new password here', logout_devices: true });
      expect(res.status).toBe(200);
      for (const token of [user.accessToken, second.body.access_token as string]) {
        const who = await t.http.get(`${V3}/account/whoami`).set('Authorization', `Bearer ${token}`);
        expect(who.status).toBe(401);
        expect(who.body.errcode).toBe('M_UNKNOWN_TOKEN');
      }
      expect(await t.sql(`SELECT 1 FROM userapi_devices WHERE localpart = 'xavier'`)).toEqual([]);
      expect((await login('xavier', 'new password here')).status).toBe(200);
    });

    it('refuses the server notices user, which has no password and cannot log in', async () => {
      const hash = async () =>
        (
          await t.sql<{ password_hash: string | null }>(
            `SELECT password_hash FROM userapi_accounts WHERE localpart = '_server'`,
          )
        )[0]?.password_hash;
      expect(await hash()).toBeNull();
      const res = await reset('@_server:test', { password: 'eightchr', logout_devices: true });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        errcode: 'M_INVALID_PARAM',
        error: 'The server notices user cannot have a password',
      });
      expect(await hash()).toBeNull();
      // Nor does a password it got some other way (by SQL, or from a server without this check) let anyone in.
      await t.sql(`UPDATE userapi_accounts SET password_hash = $1 WHERE localpart = '_server'`, [
        await bcrypt.hash('eightchr', 4),
      ]);
      for (const user of ['_server', '@_server:test', '@_SERVER:test']) {
        const attempt = await login(user, 'eightchr');
        expect(attempt.status).toBe(403);
        expect(attempt.body).toEqual({ errcode: 'M_FORBIDDEN', error: 'Invalid username or password' });
      }
    });

    it('answers an empty user ID with 404 M_UNRECOGNIZED', async () => {
      const res = await t.http.post(`${RESET}/`).set(auth(admin)).send({ password: 'eightchr' });
      expect(res.status).toBe(404);
      expect(res.body.errcode).toBe('M_UNRECOGNIZED');
    });

    it.each([
      ['an empty password', '@bob:test', { password: '' }, 400, 'M_MISSING_PARAM'],
      ['no password', '@bob:test', {}, 400, 'M_MISSING_PARAM'],
      ['a 6-character password', '@bob:test', { password: 'sixchr' }, 400, 'M_WEAK_PASSWORD'],
      ['a 513-character password', '@bob:test', { password: 'p'.repeat(513) }, 400, 'M_BAD_JSON'],
      ['a non-string password', '@bob:test', { password: 12345678 }, 400, 'M_BAD_JSON'],
      [
        'a non-boolean logout_devices',
        '@bob:test',
        { password: 'eightchr', logout_devices: 'yes' },
        400,
        'M_BAD_JSON',
      ],
      ['an unknown local user', '@doesnotexist:test', { password: 'eightchr' }, 404, 'M_NOT_FOUND'],
      ['a remote user', '@doesnotexist:localhost', { password: 'eightchr' }, 400, 'M_INVALID_PARAM'],
      ['a room ID', '!notauserid:test', { password: 'eightchr' }, 400, 'M_INVALID_PARAM'],
      ['a bare localpart', 'bob', { password: 'eightchr' }, 400, 'M_INVALID_PARAM'],
    ])('refuses %s', async (_case, userId, body, status, errcode) => {
      const res = await reset(encodeURIComponent(userId), body);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ errcode, error: expect.any(String) });
      expect((await whoami(bob)).status).toBe(200);
    });

    it('refuses invalid JSON with 400 M_NOT_JSON and a missing body with 400', async () => {
      const bad = await t.http
        .post(`${RESET}/@bob:test`)
        .set(auth(admin))
        .set('Content-Type', 'application/json')
        .send('{invalidJSON}');
      expect(bad.status).toBe(400);
      expect(bad.body.errcode).toBe('M_NOT_JSON');
      const none = await t.http.post(`${RESET}/@bob:test`).set(auth(admin));
      expect(none.status).toBe(400);
      expect(none.body.errcode).toBe('M_MISSING_PARAM');
      expect((await login('bob', PASSWORD)).status).toBe(200);
    });

    it('is refused to a plain user with 403 and to no token with 401', async () => {
      const res = await reset('@bob:test', { password: 'eightchr' }, bob);
      expect(res.status).toBe(403);
      expect(res.body.errcode).toBe('M_FORBIDDEN');
      const anon = await t.http.post(`${RESET}/@bob:test`).send({ password: 'eightchr' });
      expect(anon.status).toBe(401);
      expect(anon.body.errcode).toBe('M_MISSING_TOKEN');
    });
  });

  describe('whois', () => {
    const PATHS = [`${V3}/admin/whois`, '/_matrix/client/r0/admin/whois', '/_synapse/admin/v1/whois'];

    it('shows one session per device with the connection really recorded from its requests', async () => {
      const user = await t.register('walter');
      const before = Date.now();
      const seen = await t.http
        .get(`${V3}/account/whoami`)
        .set(auth(user))
        .set('User-Agent', 'WhoisTest/1.0')
        .set('X-Forwarded-For', '203.0.113.9');
      expect(seen.status).toBe(200);
      const after = Date.now();

      for (const path of PATHS) {
        const res = await t.http.get(`${path}/@walter:test`).set(auth(admin));
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          user_id: '@walter:test',
          devices: {
            [user.deviceId]: {
              sessions: [
                {
                  connections: [
                    { ip: '203.0.113.9', last_seen: expect.any(Number), user_agent: 'WhoisTest/1.0' },
                  ],
                },
              ],
            },
          },
        });
        const lastSeen = res.body.devices[user.deviceId].sessions[0].connections[0].last_seen as number;
        expect(lastSeen).toBeGreaterThanOrEqual(before);
        expect(lastSeen).toBeLessThanOrEqual(after);
      }

      // A new address or client is recorded at once, without waiting for the throttle.
      await t.http
        .get(`${V3}/devices`)
        .set(auth(user))
        .set('User-Agent', 'Other/2.0')
        .set('X-Forwarded-For', '198.51.100.4');
      const res = await t.http.get(`${PATHS[0]}/@walter:test`).set(auth(admin));
      expect(res.body.devices[user.deviceId].sessions[0].connections[0]).toMatchObject({
        ip: '198.51.100.4',
        user_agent: 'Other/2.0',
      });
    });

    it('records a busy client at most once a minute, unless its address or client changes', async () => {
      const user = await t.register('throttled');
      const seen = async () =>
        (
          await t.sql<{ last_seen_ts: string }>(
            `SELECT last_seen_ts FROM userapi_devices WHERE localpart = 'throttled'`,
          )
        )[0].last_seen_ts;
      const request = (ua = 'Busy/1.0') =>
        t.http.get(`${V3}/account/whoami`).set(auth(user)).set('User-Agent', ua);

      await request();
      // Pretend the last write was 10 s ago: same client, same address, so no new write.
      const recent = String(Date.now() - 10_000);
      await t.sql(`UPDATE userapi_devices SET last_seen_ts = $1 WHERE localpart = 'throttled'`, [recent]);
      await request();
      expect(await seen()).toBe(recent);
      // A different client is recorded at once.
      await request('Other/1.0');
      expect(Number(await seen())).toBeGreaterThan(Number(recent));
      // And so is the same client once the last write is over a minute old. The process judges by
      // the write it last knew of: whois reads the token's row afresh, so it sees the backdated one.
      const old = String(Date.now() - 61_000);
      await t.sql(`UPDATE userapi_devices SET last_seen_ts = $1 WHERE localpart = 'throttled'`, [old]);
      await t.http
        .get(`/_synapse/admin/v1/whois/${encodeURIComponent(user.userId)}`)
        .set(auth(user))
        .set('User-Agent', 'Other/1.0');
      expect(Number(await seen())).toBeGreaterThan(Number(old));
    });

    it('lists every device of the user', async () => {
      const user = await t.register('wilma');
      const other = await login('wilma', PASSWORD);
      const res = await t.http.get(`${PATHS[2]}/@wilma:test`).set(auth(user));
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.devices).sort()).toEqual([user.deviceId, other.body.device_id].sort());
    });

    it('lets a user look at themselves but not at others', async () => {
      const self = await t.http.get(`${PATHS[0]}/@bob:test`).set(auth(bob));
      expect(self.status).toBe(200);
      expect(self.body.user_id).toBe('@bob:test');
      for (const path of PATHS) {
        const other = await t.http.get(`${path}/@root:test`).set(auth(bob));
        expect(other.status).toBe(403);
        expect(other.body.errcode).toBe('M_FORBIDDEN');
      }
    });

    it('answers unknown, remote and malformed user IDs with Matrix errors', async () => {
      const unknown = await t.http.get(`${PATHS[0]}/@nobody:test`).set(auth(admin));
      expect(unknown.status).toBe(404);
      expect(unknown.body.errcode).toBe('M_NOT_FOUND');
      const remote = await t.http.get(`${PATHS[0]}/@someone:elsewhere`).set(auth(admin));
      expect(remote.status).toBe(400);
      expect(remote.body.errcode).toBe('M_INVALID_PARAM');
      const malformed = await t.http.get(`${PATHS[0]}/!room:test`).set(auth(admin));
      expect(malformed.status).toBe(400);
      expect(malformed.body.errcode).toBe('M_INVALID_PARAM');
    });
  });

  describe('promotion and demotion by SQL', () => {
    it('takes effect on the very next request', async () => {
      const alice = await t.register('alice');
      const before = await t.http.get('/_lattice/admin/v1/jobs').set(auth(alice));
      expect(before.status).toBe(403);
      expect(before.body).toEqual({
        errcode: 'M_FORBIDDEN',
        error: 'This API can only be used by admin users.',
      });

      // The instruction from the docs, verbatim.
      await t.sql(`UPDATE userapi_accounts SET account_type = 3 WHERE localpart = 'alice';`);
      expect((await t.http.get('/_lattice/admin/v1/jobs').set(auth(alice))).status).toBe(200);
      expect(
        (await t.http.post(`${RESET}/@bob:test`).set(auth(alice)).send({ password: PASSWORD })).status,
      ).toBe(200);
      expect((await t.http.get('/_synapse/admin/v1/whois/@bob:test').set(auth(alice))).status).toBe(200);

      await t.sql(`UPDATE userapi_accounts SET account_type = 1 WHERE localpart = 'alice';`);
      const after = await t.http.get('/_lattice/admin/v1/jobs').set(auth(alice));
      expect(after.status).toBe(403);
      expect(after.body.errcode).toBe('M_FORBIDDEN');
    });
  });

  describe('job status (/_lattice/admin/v1/jobs)', () => {
    it('lists jobs and shows one, with Matrix errors for bad filters and unknown IDs', async () => {
      const queue = t.app.get(JobService).queue('admin');
      // A job far in the future stays queued; a job of a type nobody handles fails at once.
      const queued = await queue.add(
        'test.later',
        { payload: {}, target: '@bob:test' },
        { jobId: 'admin-later', delay: 3_600_000 },
      );
      const failing = await queue.add(
        'test.nobody',
        { payload: {}, target: 'everything' },
        { jobId: 'admin-nobody' },
      );
      const events = new QueueEvents('admin', {
        connection: queue.opts.connection,
        prefix: queue.opts.prefix,
      });
      await events.waitUntilReady();
      await expect(failing.waitUntilFinished(events)).rejects.toThrow(/No handler/);
      await events.close();

      const one = await t.http.get(`/_lattice/admin/v1/jobs/${queued.id}`).set(auth(admin));
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        job_id: 'admin-later',
        type: 'test.later',
        target: '@bob:test',
        state: 'queued',
      });

      const failed = await t.http.get('/_lattice/admin/v1/jobs/admin-nobody').set(auth(admin));
      expect(failed.body).toMatchObject({ state: 'failed', error: expect.stringMatching(/No handler/) });

      const all = await t.http.get('/_lattice/admin/v1/jobs').set(auth(admin));
      expect(all.status).toBe(200);
      expect(all.body.jobs.map((j: { job_id: string }) => j.job_id).sort()).toEqual([
        'admin-later',
        'admin-nobody',
      ]);
      const onlyFailed = await t.http.get('/_lattice/admin/v1/jobs?state=failed').set(auth(admin));
      expect(onlyFailed.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual(['admin-nobody']);
      const byType = await t.http.get('/_lattice/admin/v1/jobs?type=test.later&limit=1').set(auth(admin));
      expect(byType.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual(['admin-later']);

      for (const q of ['state=sleeping', 'limit=0', 'limit=abc', 'limit=5000']) {
        const res = await t.http.get(`/_lattice/admin/v1/jobs?${q}`).set(auth(admin));
        expect(res.status).toBe(400);
        expect(res.body.errcode).toBe('M_BAD_JSON');
      }
      for (const id of ['admin-missing', 'whatever']) {
        const res = await t.http.get(`/_lattice/admin/v1/jobs/${id}`).set(auth(admin));
        expect(res.status).toBe(404);
        expect(res.body.errcode).toBe('M_NOT_FOUND');
      }
    });
  });
});

describe('shared-secret registration with Dendrite published vector', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await TestApp.start({ REGISTRATION_SHARED_SECRET: 'dendritetest' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('accepts the published MAC for alice/wonderland over HTTP', async () => {
    const nonce =
      '759f047f312b99ff428b21d581256f8592b8976e58bc1b543972dc6147e529a79657605b52d7becd160ff5137f3de11975684319187e06901955f79e5a6c5a79';
    // Plant Dendrite's nonce as if this server had issued it.
    const redis = new Redis(t.config.REDIS_URL, { keyPrefix: `${t.config.REDIS_KEY_PREFIX}:` });
    await redis.set(`register-nonce:${nonce}`, '1', 'EX', 300);
    redis.disconnect();
    const res = await t.http.post(REGISTER).send({
      nonce,
      username: 'alice',
      password: 'wonderland',
      mac: '24DCA3BBA410E43FE64B9B5C28306693BF3BAA9F',
      admin: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe('@alice:test');
    expect(await t.sql(`SELECT account_type FROM userapi_accounts WHERE localpart = 'alice'`)).toEqual([
      { account_type: 3 },
    ]);
  });
});

describe('shared-secret registration without a secret', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await TestApp.start({ REGISTRATION_SHARED_SECRET: '' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('does not exist: 404 M_UNRECOGNIZED whatever the request', async () => {
    const get = await t.http.get(REGISTER);
    expect(get.status).toBe(404);
    expect(get.body).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    for (const body of [{}, { nonce: 'x', username: 'x', password: PASSWORD, mac: 'abcd' }]) {
      const post = await t.http.post(REGISTER).send(body);
      expect(post.status).toBe(404);
      expect(post.body.errcode).toBe('M_UNRECOGNIZED');
    }
  });
});
