import type request from 'supertest';
import { TestApp, auth, type TestUser } from './helpers/test-app.js';

const V3 = '/_matrix/client/v3';
const R0 = '/_matrix/client/r0';
const PASSWORD = 'correct horse battery';

describe('accounts: registration, sign-in and sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await TestApp.start();
  });
  afterAll(async () => {
    await t.close();
  });

  const login = (body: Record<string, unknown>) => t.http.post(`${V3}/login`).send(body);
  const whoami = (token: string) =>
    t.http.get(`${V3}/account/whoami`).set('Authorization', `Bearer ${token}`);

  describe('register', () => {
    it('answers the first request with a UIA challenge, then registers with m.login.dummy', async () => {
      const first = await t.http.post(`${V3}/register`).send({ username: 'Reggie', password: PASSWORD });
      expect(first.status).toBe(401);
      expect(first.body).toEqual({
        flows: [{ stages: ['m.login.dummy'] }],
        params: {},
        session: expect.any(String),
        completed: [],
      });

      const second = await t.http.post(`${V3}/register`).send({
        username: 'Reggie',
        password: PASSWORD,
        initial_device_display_name: 'Laptop',
        auth: { type: 'm.login.dummy', session: first.body.session },
      });
      expect(second.status).toBe(200);
      // Usernames are lowercased, as Dendrite does.
      expect(second.body).toEqual({
        user_id: '@reggie:test',
        access_token: expect.any(String),
        device_id: expect.any(String),
        home_server: 'test',
      });
      expect((await whoami(second.body.access_token)).body.user_id).toBe('@reggie:test');

      const [row] = await t.sql<{ account_type: number; password_hash: string }>(
        `SELECT account_type, password_hash FROM userapi_accounts WHERE localpart = 'reggie'`,
      );
      expect(row.account_type).toBe(1);
      expect(row.password_hash).toMatch(/^\$2[aby]\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
      const [device] = await t.sql<{ display_name: string; access_token_hash: Buffer }>(
        `SELECT display_name, access_token_hash FROM userapi_devices WHERE localpart = 'reggie'`,
      );
      expect(device.display_name).toBe('Laptop');
      // Only a hash of the token is stored.
      expect(device.access_token_hash.toString('utf8')).not.toContain(second.body.access_token);
    });

    it('answers under the r0 prefix too', async () => {
      const first = await t.http.post(`${R0}/register`).send({ username: 'oldclient', password: PASSWORD });
      expect(first.status).toBe(401);
      const res = await t.http.post(`${R0}/register`).send({
        username: 'oldclient',
        password: PASSWORD,
        auth: { type: 'm.login.dummy', session: first.body.session },
      });
      expect(res.status).toBe(200);
      expect(res.body.user_id).toBe('@oldclient:test');
    });

    it('refuses a UIA stage it does not offer, keeping the session', async () => {
      const first = await t.http.post(`${V3}/register`).send({ username: 'stagey', password: PASSWORD });
      const res = await t.http.post(`${V3}/register`).send({
        username: 'stagey',
        password: PASSWORD,
        auth: { type: 'm.login.recaptcha', session: first.body.session },
      });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        flows: [{ stages: ['m.login.dummy'] }],
        session: first.body.session,
        errcode: expect.any(String),
        error: expect.any(String),
      });
    });

    it('picks a username when the client gives none', async () => {
      const first = await t.http.post(`${V3}/register`).send({ password: PASSWORD });
      expect(first.status).toBe(401);
      const res = await t.http
        .post(`${V3}/register`)
        .send({ password: PASSWORD, auth: { type: 'm.login.dummy', session: first.body.session } });
      expect(res.status).toBe(200);
      expect(res.body.user_id).toMatch(/^@[a-z][a-z0-9]+:test$/);
      expect((await whoami(res.body.access_token)).body.user_id).toBe(res.body.user_id);
    });

    it('lets a UIA session complete one request only, also when several complete it at once', async () => {
      const first = await t.http.post(`${V3}/register`).send({ password: PASSWORD });
      const attempts = await Promise.all(
        ['once0', 'once1', 'once2', 'once3'].map((username) =>
          t.http.post(`${V3}/register`).send({
            username,
            password: PASSWORD,
            auth: { type: 'm.login.dummy', session: first.body.session },
          }),
        ),
      );
      const statuses = attempts.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 400, 400, 400]);
      for (const r of attempts.filter((a) => a.status === 400)) expect(r.body.errcode).toBe('M_UNKNOWN');
    });

    it('honours inhibit_login', async () => {
      const first = await t.http.post(`${V3}/register`).send({ username: 'nologin', password: PASSWORD });
      const res = await t.http.post(`${V3}/register`).send({
        username: 'nologin',
        password: PASSWORD,
        inhibit_login: true,
        auth: { type: 'm.login.dummy', session: first.body.session },
      });
      expect(res.status).toBe(200);
      expect(res.body.user_id).toBe('@nologin:test');
      expect(res.body.access_token).toBeUndefined();
    });

    it('tells whether a username is available', async () => {
      await t.register('taken');
      const free = await t.http.get(`${V3}/register/available`).query({ username: 'free' });
      expect(free.status).toBe(200);
      expect(free.body).toEqual({ available: true });

      const taken = await t.http.get(`${V3}/register/available`).query({ username: 'Taken' });
      expect(taken.status).toBe(400);
      expect(taken.body.errcode).toBe('M_USER_IN_USE');

      const bad = await t.http.get(`${V3}/register/available`).query({ username: 'no spaces' });
      expect(bad.status).toBe(400);
      expect(bad.body.errcode).toBe('M_INVALID_USERNAME');

      const missing = await t.http.get(`${V3}/register/available`);
      expect(missing.status).toBe(400);
      expect(missing.body.errcode).toBe('M_MISSING_PARAM');
    });

    it.each([
      ['a taken name', { username: 'taken', password: PASSWORD }, 'M_USER_IN_USE'],
      ['a name with a space', { username: 'bad name', password: PASSWORD }, 'M_INVALID_USERNAME'],
      ['a name with a colon', { username: 'bad:name', password: PASSWORD }, 'M_INVALID_USERNAME'],
      ['a reserved leading underscore', { username: '_system', password: PASSWORD }, 'M_INVALID_USERNAME'],
      [
        'an all-digit name (guests have those)',
        { username: '12345', password: PASSWORD },
        'M_INVALID_USERNAME',
      ],
      ['an empty name', { username: '', password: PASSWORD }, 'M_INVALID_USERNAME'],
      ['a 7-character password', { username: 'shorty', password: 'sevench' }, 'M_WEAK_PASSWORD'],
      ['no password', { username: 'nopass' }, 'M_MISSING_PARAM'],
      ['a 513-character password', { username: 'longpass', password: 'x'.repeat(513) }, 'M_BAD_JSON'],
      ['a user ID over 255 bytes', { username: 'a'.repeat(250), password: PASSWORD }, 'M_BAD_JSON'],
      ['a numeric username', { username: 5, password: PASSWORD }, 'M_BAD_JSON'],
    ])('refuses %s before the UIA round trip', async (_name, body, errcode) => {
      await t.register('taken').catch(() => undefined);
      const res = await t.http.post(`${V3}/register`).send(body);
      expect(res.status).toBe(400);
      expect(res.body.errcode).toBe(errcode);
      expect(typeof res.body.error).toBe('string');
    });

    it('registers a guest with ?kind=guest, who gets M_GUEST_ACCESS_FORBIDDEN on member-only routes', async () => {
      const res = await t.http.post(`${V3}/register`).query({ kind: 'guest' }).send({});
      expect(res.status).toBe(200);
      expect(res.body.user_id).toMatch(/^@\d+:test$/);
      const who = await whoami(res.body.access_token);
      expect(who.body).toEqual({ user_id: res.body.user_id, device_id: res.body.device_id, is_guest: true });

      const second = await t.http.post(`${V3}/register?kind=guest`).send({});
      expect(second.status).toBe(200);
      expect(second.body.user_id).not.toBe(res.body.user_id);

      const [row] = await t.sql<{ account_type: number }>(
        `SELECT account_type FROM userapi_accounts WHERE localpart = $1`,
        [res.body.user_id.slice(1, res.body.user_id.indexOf(':'))],
      );
      expect(row.account_type).toBe(2);

      const pw = await t.http
        .post(`${V3}/account/password`)
        .set('Authorization', `Bearer ${res.body.access_token}`)
        .send({ new_password: 'another password' });
      expect(pw.status).toBe(403);
      expect(pw.body.errcode).toBe('M_GUEST_ACCESS_FORBIDDEN');
    });

    it('gives guests registering at the same time distinct IDs', async () => {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => t.http.post(`${V3}/register?kind=guest`).send({})),
      );
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(results.map((r) => r.body.user_id)).size).toBe(5);
    });

    it('refuses an unknown kind', async () => {
      const res = await t.http
        .post(`${V3}/register?kind=robot`)
        .send({ username: 'robot', password: PASSWORD });
      expect(res.status).toBe(400);
      expect(res.body.errcode).toBe('M_INVALID_PARAM');
    });
  });

  describe('login', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await t.register('lana');
    });

    it('offers m.login.password', async () => {
      const res = await t.http.get(`${V3}/login`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ flows: [{ type: 'm.login.password' }] });
    });

    it('signs in with an m.id.user identifier holding a localpart or a full user ID', async () => {
      for (const id of ['lana', '@lana:test', 'LANA']) {
        const res = await login({
          type: 'm.login.password',
          identifier: { type: 'm.id.user', user: id },
          password: PASSWORD,
        });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          user_id: '@lana:test',
          access_token: expect.any(String),
          device_id: expect.any(String),
          home_server: 'test',
        });
        expect((await whoami(res.body.access_token)).status).toBe(200);
      }
    });

    it('accepts the legacy top-level user and a null device_id', async () => {
      const res = await login({
        type: 'm.login.password',
        user: 'lana',
        password: PASSWORD,
        device_id: null,
      });
      expect(res.status).toBe(200);
      expect(res.body.device_id).toMatch(/^[A-Z]{10}$/);
      expect(res.body.home_server).toBe('test');
    });

    it('reuses a given device_id, replacing that device token', async () => {
      const first = await login({
        type: 'm.login.password',
        user: 'lana',
        password: PASSWORD,
        device_id: 'PHONE',
        initial_device_display_name: 'Phone',
      });
      expect(first.status).toBe(200);
      expect(first.body.device_id).toBe('PHONE');
      const second = await login({
        type: 'm.login.password',
        user: 'lana',
        password: PASSWORD,
        device_id: 'PHONE',
      });
      expect(second.body.device_id).toBe('PHONE');
      expect(second.body.access_token).not.toBe(first.body.access_token);

      const old = await whoami(first.body.access_token);
      expect(old.status).toBe(401);
      expect(old.body.errcode).toBe('M_UNKNOWN_TOKEN');
      expect((await whoami(second.body.access_token)).body.device_id).toBe('PHONE');
      const phones = await t.sql(
        `SELECT display_name FROM userapi_devices WHERE localpart = 'lana' AND device_id = 'PHONE'`,
      );
      expect(phones).toEqual([{ display_name: 'Phone' }]);
    });

    it('refuses a wrong password, an unknown user and a remote user with 403 M_FORBIDDEN', async () => {
      for (const [u, p] of [
        ['lana', 'wrong password'],
        ['nobody', PASSWORD],
        ['@lana:elsewhere', PASSWORD],
      ]) {
        const res = await login({
          type: 'm.login.password',
          identifier: { type: 'm.id.user', user: u },
          password: p,
        });
        expect(res.status).toBe(403);
        expect(res.body.errcode).toBe('M_FORBIDDEN');
      }
    });

    it('refuses unknown login and identifier types and missing fields with 400', async () => {
      const cases = [
        { type: 'm.login.token', token: 'x' },
        {
          type: 'm.login.password',
          identifier: { type: 'm.id.thirdparty', medium: 'email' },
          password: PASSWORD,
        },
        { type: 'm.login.password', password: PASSWORD },
        { type: 'm.login.password', user: 'lana' },
        { user: 'lana', password: PASSWORD },
      ];
      for (const body of cases) {
        const res = await login(body);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ errcode: expect.stringMatching(/^M_/), error: expect.any(String) });
      }
    });

    it('tells a deactivated account so', async () => {
      await t.register('gone');
      await t.sql(`UPDATE userapi_accounts SET is_deactivated = true WHERE localpart = 'gone'`);
      const res = await login({ type: 'm.login.password', user: 'gone', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.body.errcode).toBe('M_USER_DEACTIVATED');
    });

    it('accepts the token as a query parameter and refuses a header and a query parameter at once', async () => {
      const q = await t.http.get(`${V3}/account/whoami`).query({ access_token: user.accessToken });
      expect(q.status).toBe(200);
      const both = await t.http
        .get(`${V3}/account/whoami`)
        .query({ access_token: user.accessToken })
        .set(auth(user));
      expect(both.status).toBe(401);
      expect(both.body.errcode).toBe('M_MISSING_TOKEN');
    });
  });

  describe('whoami, logout and logout/all', () => {
    it('whoami needs a valid token', async () => {
      const none = await t.http.get(`${V3}/account/whoami`);
      expect(none.status).toBe(401);
      expect(none.body.errcode).toBe('M_MISSING_TOKEN');
      const bad = await whoami('not-a-token');
      expect(bad.status).toBe(401);
      expect(bad.body.errcode).toBe('M_UNKNOWN_TOKEN');
      const malformed = await t.http.get(`${V3}/account/whoami`).set('Authorization', 'Basic abc');
      expect(malformed.status).toBe(401);
      expect(malformed.body.errcode).toBe('M_MISSING_TOKEN');
    });

    it('logout ends only the calling session and deletes its device (also with no body at all)', async () => {
      const user = await t.register('leo');
      const other = await login({ type: 'm.login.password', user: 'leo', password: PASSWORD });
      const res = await t.http.post(`${V3}/logout`).set(auth(user));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
      expect((await whoami(user.accessToken)).body.errcode).toBe('M_UNKNOWN_TOKEN');
      expect((await whoami(other.body.access_token)).status).toBe(200);
      const devices = await t.sql(`SELECT device_id FROM userapi_devices WHERE localpart = 'leo'`);
      expect(devices).toEqual([{ device_id: other.body.device_id }]);
    });

    it('logout/all ends every session', async () => {
      const user = await t.register('lola');
      const other = await login({ type: 'm.login.password', user: 'lola', password: PASSWORD });
      const res = await t.http.post(`${V3}/logout/all`).set(auth(user)).send({});
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
      expect((await whoami(user.accessToken)).status).toBe(401);
      expect((await whoami(other.body.access_token)).status).toBe(401);
      expect(await t.sql(`SELECT 1 FROM userapi_devices WHERE localpart = 'lola'`)).toEqual([]);
    });
  });

  describe('account/password', () => {
    it('asks for the old password by UIA, then changes it; other sessions end, the caller stays', async () => {
      const user = await t.register('pat');
      const other = await login({ type: 'm.login.password', user: 'pat', password: PASSWORD });

      const challenge = await t.http
        .post(`${V3}/account/password`)
        .set(auth(user))
        .send({ new_password: 'a brand new password' });
      expect(challenge.status).toBe(401);
      expect(challenge.body).toMatchObject({
        flows: [{ stages: ['m.login.password'] }],
        session: expect.any(String),
      });

      const wrong = await t.http
        .post(`${V3}/account/password`)
        .set(auth(user))
        .send({
          new_password: 'a brand new password',
          auth: {
            type: 'm.login.password',
            identifier: { type: 'm.id.user', user: '@pat:test' },
            password: 'not my password',
            session: challenge.body.session,
          },
        });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject({ errcode: 'M_FORBIDDEN', session: challenge.body.session });

      const ok = await t.http
        .post(`${V3}/account/password`)
        .set(auth(user))
        .send({
          new_password: 'a brand new password',
          auth: {
            type: 'm.login.password',
            identifier: { type: 'm.id.user', user: '@pat:test' },
            password: PASSWORD,
            session: challenge.body.session,
          },
        });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({});

      expect((await whoami(user.accessToken)).status).toBe(200);
      const dead = await whoami(other.body.access_token);
      expect(dead.status).toBe(401);
      expect(dead.body.errcode).toBe('M_UNKNOWN_TOKEN');

      expect((await login({ type: 'm.login.password', user: 'pat', password: PASSWORD })).status).toBe(403);
      expect(
        (await login({ type: 'm.login.password', user: 'pat', password: 'a brand new password' })).status,
      ).toBe(200);
    });

    it('keeps other sessions with logout_devices:false', async () => {
      const user = await t.register('polly');
      const other = await login({ type: 'm.login.password', user: 'polly', password: PASSWORD });
      const res = await t.http
        .post(`${V3}/account/password`)
        .set(auth(user))
        .send({
          new_password: 'a brand new password',
          logout_devices: false,
          auth: { type: 'm.login.password', user: 'polly', password: PASSWORD },
        });
      expect(res.status).toBe(200);
      expect((await whoami(other.body.access_token)).status).toBe(200);
    });

    it('refuses a weak new password and another user in the auth dictionary', async () => {
      const user = await t.register('penny');
      const weak = await t.http
        .post(`${V3}/account/password`)
        .set(auth(user))
        .send({
          new_password: 'short',
          auth: { type: 'm.login.password', user: 'penny', password: PASSWORD },
        });
      expect(weak.status).toBe(400);
      expect(weak.body.errcode).toBe('M_WEAK_PASSWORD');

      await t.register('pete');
      const someoneElse = await t.http
        .post(`${V3}/account/password`)
        .set(auth(user))
        .send({
          new_password: 'a brand new password',
          auth: {
            type: 'm.login.password',
            identifier: { type: 'm.id.user', user: 'pete' },
            password: PASSWORD,
          },
        });
      expect(someoneElse.status).toBe(401);
      expect(someoneElse.body.errcode).toBe('M_FORBIDDEN');
    });
  });

  describe('profile', () => {
    it('starts with the localpart as display name and sets display name and avatar', async () => {
      const user = await t.register('paula');
      const initial = await t.http.get(`${V3}/profile/@paula:test`);
      expect(initial.status).toBe(200);
      expect(initial.body).toEqual({ displayname: 'paula' });

      const set = await t.http
        .put(`${V3}/profile/@paula:test/displayname`)
        .set(auth(user))
        .send({ displayname: 'Paula P.' });
      expect(set.status).toBe(200);
      expect(set.body).toEqual({});
      const avatar = await t.http
        .put(`${V3}/profile/@paula:test/avatar_url`)
        .set(auth(user))
        .send({ avatar_url: 'mxc://test/abc' });
      expect(avatar.status).toBe(200);

      expect((await t.http.get(`${V3}/profile/@paula:test`)).body).toEqual({
        displayname: 'Paula P.',
        avatar_url: 'mxc://test/abc',
      });
      expect((await t.http.get(`${V3}/profile/@paula:test/displayname`)).body).toEqual({
        displayname: 'Paula P.',
      });
      expect((await t.http.get(`${R0}/profile/@paula:test/avatar_url`)).body).toEqual({
        avatar_url: 'mxc://test/abc',
      });

      const cleared = await t.http
        .put(`${V3}/profile/@paula:test/avatar_url`)
        .set(auth(user))
        .send({ avatar_url: '' });
      expect(cleared.status).toBe(200);
      const noAvatar = await t.http.get(`${V3}/profile/@paula:test/avatar_url`);
      expect(noAvatar.status).toBe(404);
      expect(noAvatar.body.errcode).toBe('M_NOT_FOUND');
    });

    it('refuses to change another user profile, bad values and unknown users', async () => {
      const user = await t.register('quentin');
      await t.register('rita');
      const other = await t.http
        .put(`${V3}/profile/@rita:test/displayname`)
        .set(auth(user))
        .send({ displayname: 'x' });
      expect(other.status).toBe(403);
      expect(other.body.errcode).toBe('M_FORBIDDEN');

      const badAvatar = await t.http
        .put(`${V3}/profile/@quentin:test/avatar_url`)
        .set(auth(user))
        .send({ avatar_url: 'https://example.org/a.png' });
      expect(badAvatar.status).toBe(400);
      expect(badAvatar.body.errcode).toBe('M_BAD_JSON');

      const badName = await t.http
        .put(`${V3}/profile/@quentin:test/displayname`)
        .set(auth(user))
        .send({ displayname: 7 });
      expect(badName.status).toBe(400);
      expect(badName.body.errcode).toBe('M_BAD_JSON');

      const noName = await t.http.put(`${V3}/profile/@quentin:test/displayname`).set(auth(user)).send({});
      expect([noName.status, noName.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);

      const noToken = await t.http.put(`${V3}/profile/@quentin:test/displayname`).send({ displayname: 'x' });
      expect(noToken.status).toBe(401);

      const unknown = await t.http.get(`${V3}/profile/@nobody:test`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.errcode).toBe('M_NOT_FOUND');
      const remote = await t.http.get(`${V3}/profile/@someone:elsewhere`);
      expect(remote.status).toBe(404);
      const invalid = await t.http.get(`${V3}/profile/not-a-user`);
      expect(invalid.status).toBe(400);
      expect(invalid.body.errcode).toBe('M_INVALID_PARAM');
    });
  });

  describe('devices', () => {
    let user: TestUser;
    let phone: string;
    beforeAll(async () => {
      user = await t.register('dora');
      const res = await login({
        type: 'm.login.password',
        user: 'dora',
        password: PASSWORD,
        initial_device_display_name: 'Dora phone',
      });
      phone = res.body.device_id;
    });

    it('lists and gets devices with their last-seen data', async () => {
      const list = await t.http.get(`${V3}/devices`).set(auth(user));
      expect(list.status).toBe(200);
      const ids = list.body.devices.map((d: { device_id: string }) => d.device_id).sort();
      expect(ids).toEqual([user.deviceId, phone].sort());
      const one = await t.http.get(`${V3}/devices/${phone}`).set(auth(user));
      expect(one.status).toBe(200);
      expect(one.body).toEqual({
        device_id: phone,
        display_name: 'Dora phone',
        last_seen_ip: expect.any(String),
        last_seen_ts: expect.any(Number),
      });
      const missing = await t.http.get(`${V3}/devices/NOSUCHDEVICE`).set(auth(user));
      expect(missing.status).toBe(404);
      expect(missing.body.errcode).toBe('M_NOT_FOUND');
    });

    it('renames a device; an unknown device is 404', async () => {
      const res = await t.http
        .put(`${V3}/devices/${phone}`)
        .set(auth(user))
        .send({ display_name: 'Old phone' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
      expect((await t.http.get(`${V3}/devices/${phone}`).set(auth(user))).body.display_name).toBe(
        'Old phone',
      );
      const missing = await t.http
        .put(`${V3}/devices/NOSUCHDEVICE`)
        .set(auth(user))
        .send({ display_name: 'x' });
      expect(missing.status).toBe(404);
    });

    it('does not show or touch another user devices', async () => {
      const eve = await t.register('eve');
      expect((await t.http.get(`${V3}/devices/${phone}`).set(auth(eve))).status).toBe(404);
      expect(
        (await t.http.put(`${V3}/devices/${phone}`).set(auth(eve)).send({ display_name: 'mine' })).status,
      ).toBe(404);
      expect(
        (
          await t.http
            .delete(`${V3}/devices/${phone}`)
            .set(auth(eve))
            .send({ auth: { type: 'm.login.password', user: 'eve', password: PASSWORD } })
        ).status,
      ).toBe(404);
    });

    it('deletes a device only after UIA with the password, ending its session', async () => {
      const extra = await login({ type: 'm.login.password', user: 'dora', password: PASSWORD });
      const challenge = await t.http.delete(`${V3}/devices/${extra.body.device_id}`).set(auth(user));
      expect(challenge.status).toBe(401);
      expect(challenge.body.flows).toEqual([{ stages: ['m.login.password'] }]);
      expect((await whoami(extra.body.access_token)).status).toBe(200);

      const wrong = await t.http
        .delete(`${V3}/devices/${extra.body.device_id}`)
        .set(auth(user))
        .send({
          auth: {
            type: 'm.login.password',
            user: 'dora',
            password: 'nope nope',
            session: challenge.body.session,
          },
        });
      expect(wrong.status).toBe(401);
      expect(wrong.body.errcode).toBe('M_FORBIDDEN');

      const ok = await t.http
        .delete(`${V3}/devices/${extra.body.device_id}`)
        .set(auth(user))
        .send({
          auth: {
            type: 'm.login.password',
            user: 'Dora',
            password: PASSWORD,
            session: challenge.body.session,
          },
        });
      expect(ok.status).toBe(200);
      expect((await whoami(extra.body.access_token)).body.errcode).toBe('M_UNKNOWN_TOKEN');
    });

    it('deletes several devices with delete_devices', async () => {
      const a = await login({ type: 'm.login.password', user: 'dora', password: PASSWORD });
      const b = await login({ type: 'm.login.password', user: 'dora', password: PASSWORD });
      const challenge = await t.http
        .post(`${V3}/delete_devices`)
        .set(auth(user))
        .send({ devices: [a.body.device_id, b.body.device_id] });
      expect(challenge.status).toBe(401);
      const ok = await t.http
        .post(`${V3}/delete_devices`)
        .set(auth(user))
        .send({
          devices: [a.body.device_id, b.body.device_id],
          auth: {
            type: 'm.login.password',
            identifier: { type: 'm.id.user', user: 'dora' },
            password: PASSWORD,
          },
        });
      expect(ok.status).toBe(200);
      expect((await whoami(a.body.access_token)).status).toBe(401);
      expect((await whoami(b.body.access_token)).status).toBe(401);
      expect((await whoami(user.accessToken)).status).toBe(200);

      const bad = await t.http.post(`${V3}/delete_devices`).set(auth(user)).send({ devices: 'all' });
      expect(bad.status).toBe(400);
      expect(bad.body.errcode).toBe('M_BAD_JSON');
    });
  });

  describe('account data and tags', () => {
    const ROOM = '!room:test';

    it('stores global and room account data per user', async () => {
      const user = await t.register('ada');
      const path = `${V3}/user/@ada:test/account_data/org.example.settings`;
      const missing = await t.http.get(path).set(auth(user));
      expect(missing.status).toBe(404);
      expect(missing.body.errcode).toBe('M_NOT_FOUND');

      expect((await t.http.put(path).set(auth(user)).send({ theme: 'dark' })).status).toBe(200);
      expect((await t.http.get(path).set(auth(user))).body).toEqual({ theme: 'dark' });
      expect((await t.http.put(path).set(auth(user)).send({ theme: 'light' })).status).toBe(200);
      expect((await t.http.get(path).set(auth(user))).body).toEqual({ theme: 'light' });

      const roomPath = `${V3}/user/@ada:test/rooms/${encodeURIComponent(ROOM)}/account_data/org.example.room`;
      expect((await t.http.put(roomPath).set(auth(user)).send({ pinned: true })).status).toBe(200);
      expect((await t.http.get(roomPath).set(auth(user))).body).toEqual({ pinned: true });
      // The room value is not the global one.
      const globalSameType = await t.http
        .get(`${V3}/user/@ada:test/account_data/org.example.room`)
        .set(auth(user));
      expect(globalSameType.status).toBe(404);
    });

    it('refuses another user, server-managed types and bad room IDs', async () => {
      const user = await t.register('bea');
      await t.register('cal');
      const other = await t.http.get(`${V3}/user/@cal:test/account_data/x.y`).set(auth(user));
      expect(other.status).toBe(403);
      expect(other.body.errcode).toBe('M_FORBIDDEN');
      const otherPut = await t.http.put(`${V3}/user/@cal:test/account_data/x.y`).set(auth(user)).send({});
      expect(otherPut.status).toBe(403);

      for (const type of ['m.fully_read', 'm.push_rules']) {
        const res = await t.http.put(`${V3}/user/@bea:test/account_data/${type}`).set(auth(user)).send({});
        expect(res.status).toBe(405);
        expect(res.body.errcode).toBe('M_BAD_JSON');
      }
      const badRoom = await t.http
        .put(`${V3}/user/@bea:test/rooms/not-a-room/account_data/x.y`)
        .set(auth(user))
        .send({});
      expect(badRoom.status).toBe(400);
      expect(badRoom.body.errcode).toBe('M_INVALID_PARAM');
    });

    it('adds, lists and removes room tags', async () => {
      const user = await t.register('tess');
      const base = `${V3}/user/@tess:test/rooms/${encodeURIComponent(ROOM)}/tags`;
      expect((await t.http.get(base).set(auth(user))).body).toEqual({ tags: {} });

      expect((await t.http.put(`${base}/m.favourite`).set(auth(user)).send({ order: 0.25 })).status).toBe(
        200,
      );
      expect((await t.http.put(`${base}/u.work`).set(auth(user)).send({})).status).toBe(200);
      expect((await t.http.get(base).set(auth(user))).body).toEqual({
        tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} },
      });
      // Tags are room account data of type m.tag.
      const asData = await t.http
        .get(`${V3}/user/@tess:test/rooms/${encodeURIComponent(ROOM)}/account_data/m.tag`)
        .set(auth(user));
      expect(asData.body).toEqual({ tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });

      expect((await t.http.delete(`${base}/m.favourite`).set(auth(user))).status).toBe(200);
      expect((await t.http.get(base).set(auth(user))).body).toEqual({ tags: { 'u.work': {} } });

      const badOrder = await t.http.put(`${base}/u.x`).set(auth(user)).send({ order: 'first' });
      expect(badOrder.status).toBe(400);
      expect(badOrder.body.errcode).toBe('M_BAD_JSON');
      const longTag = await t.http
        .put(`${base}/${'t'.repeat(256)}`)
        .set(auth(user))
        .send({});
      expect(longTag.status).toBe(400);
    });
  });
});

describe('accounts: NUL characters, which PostgreSQL cannot store', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await TestApp.start();
    user = await t.register('nina');
  });
  afterAll(async () => {
    await t.close();
  });

  it('are refused in login fields, and a password with one never matches a stored password', async () => {
    for (const body of [
      { type: 'm.login.password', user: 'nina\0', password: PASSWORD },
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'ni\0na' }, password: PASSWORD },
      // bcrypt stops at a NUL: without the check this would sign in with the real password plus junk.
      { type: 'm.login.password', user: 'nina', password: `${PASSWORD}\0junk` },
      { type: 'm.login.password', user: 'nina', password: PASSWORD, device_id: 'D\0' },
    ]) {
      const res = await t.http.post(`${V3}/login`).send(body);
      expect(res.status).toBe(400);
      expect(res.body.errcode).toBe('M_BAD_JSON');
    }
    const uia = await t.http
      .post(`${V3}/account/password`)
      .set(auth(user))
      .send({
        new_password: 'another password',
        auth: { type: 'm.login.password', user: 'nina', password: `${PASSWORD}\0junk` },
      });
    expect(uia.status).toBe(401);
    expect(uia.body.errcode).toBe('M_FORBIDDEN');
  });

  it('are refused in profiles, devices, account data and tags', async () => {
    const room = encodeURIComponent('!room:test');
    const cases: [string, () => request.Test, number, string][] = [
      [
        'display name',
        () => t.http.put(`${V3}/profile/@nina:test/displayname`).send({ displayname: 'a\0b' }),
        400,
        'M_BAD_JSON',
      ],
      [
        'avatar',
        () => t.http.put(`${V3}/profile/@nina:test/avatar_url`).send({ avatar_url: 'mxc://a/b\0' }),
        400,
        'M_BAD_JSON',
      ],
      [
        'device name',
        () => t.http.put(`${V3}/devices/${user.deviceId}`).send({ display_name: 'a\0b' }),
        400,
        'M_BAD_JSON',
      ],
      ['device ID', () => t.http.get(`${V3}/devices/A%00B`), 404, 'M_NOT_FOUND'],
      [
        'renamed device ID',
        () => t.http.put(`${V3}/devices/A%00B`).send({ display_name: 'x' }),
        404,
        'M_NOT_FOUND',
      ],
      [
        'deleted device IDs',
        () => t.http.post(`${V3}/delete_devices`).send({ devices: ['A\0B'] }),
        400,
        'M_BAD_JSON',
      ],
      [
        'account data',
        () => t.http.put(`${V3}/user/@nina:test/account_data/x.y`).send({ a: 'b\0' }),
        400,
        'M_BAD_JSON',
      ],
      [
        'account data key',
        () => t.http.put(`${V3}/user/@nina:test/account_data/x.y`).send({ 'a\0': 1 }),
        400,
        'M_BAD_JSON',
      ],
      [
        'account data type',
        () => t.http.get(`${V3}/user/@nina:test/account_data/x%00y`),
        400,
        'M_INVALID_PARAM',
      ],
      [
        'room ID',
        () => t.http.get(`${V3}/user/@nina:test/rooms/${encodeURIComponent('!a\0b:test')}/tags`),
        400,
        'M_INVALID_PARAM',
      ],
      [
        'tag',
        () => t.http.put(`${V3}/user/@nina:test/rooms/${room}/tags/u.a%00b`).send({}),
        400,
        'M_INVALID_PARAM',
      ],
      [
        'tag content',
        () => t.http.put(`${V3}/user/@nina:test/rooms/${room}/tags/u.a`).send({ note: '\0' }),
        400,
        'M_BAD_JSON',
      ],
    ];
    for (const [what, build, status, errcode] of cases) {
      const res = await build().set(auth(user));
      expect([what, res.status, res.body.errcode]).toEqual([what, status, errcode]);
    }
  });
});

describe('accounts: registration disabled', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await TestApp.start({ ENABLE_REGISTRATION: 'false' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses /register with 403 M_FORBIDDEN, guests included', async () => {
    for (const path of [`${V3}/register`, `${V3}/register?kind=guest`, `${R0}/register`]) {
      const res = await t.http.post(path).send({ username: 'nope', password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.body.errcode).toBe('M_FORBIDDEN');
    }
  });

  it('still lets the shared secret create accounts that can sign in', async () => {
    const res = await t.registerWithSecret('operator', PASSWORD);
    expect(res.status).toBe(200);
    const login = await t.http
      .post(`${V3}/login`)
      .send({ type: 'm.login.password', user: 'operator', password: PASSWORD });
    expect(login.status).toBe(200);
  });
});
