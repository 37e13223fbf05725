import { verifyJsonSignature } from '../../src/common/crypto/signing-key.js';
import { TestApp, auth, type TestUser } from '../helpers/test-app.js';
import { FakeHomeserver } from './fake-homeserver.js';
import { expectMatchesSchema, expectMatchesSpec } from '../helpers/matrix-schema.js';

const HS = 'hs1.test';

describe('federation: key server, signed requests, remote device lists', () => {
  let t: TestApp;
  let remote: FakeHomeserver;
  let admin: TestUser;
  let alice: TestUser;
  const bob = '@bob:remote.test';

  beforeAll(async () => {
    remote = await new FakeHomeserver('remote.test').start();
    t = await TestApp.start({
      SERVER_NAME: HS,
      FEDERATION_DESTINATIONS: JSON.stringify({
        'remote.test': remote.url,
        'gone.test': 'http://127.0.0.1:1',
      }),
    });
    remote.peers.set(HS, t.baseUrl);
    admin = await t.registerAdmin('admin');
    alice = await t.register('alice');
    await t.http
      .post('/_matrix/client/v3/keys/upload')
      .set(auth(alice))
      .send({
        device_keys: remote.deviceKeys(alice.userId, alice.deviceId),
        one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1', signatures: {} } },
      });
    remote.devices.set(bob, [
      { device_id: 'BOBPHONE', keys: remote.deviceKeys(bob, 'BOBPHONE'), device_display_name: 'Bob phone' },
    ]);
  });
  afterAll(async () => {
    await t.close();
    await remote.stop();
  });

  it('the spec validator rejects what does not match', () => {
    expect(() =>
      expectMatchesSpec({ status: 200, body: {} }, 'api/client-server/keys.yaml', 'post', '/keys/upload'),
    ).toThrow(/does not match/);
  });

  it('serves its signed keys at /_matrix/key/v2/server', async () => {
    const res = await t.http.get('/_matrix/key/v2/server');
    expect(res.status).toBe(200);
    expectMatchesSpec(res, 'api/server-server/keys_server.yaml', 'get', '/server');
    expect(res.body.server_name).toBe(HS);
    expect(res.body.valid_until_ts).toBeGreaterThan(Date.now() + 3600_000);
    const [[keyId, { key }]] = Object.entries(res.body.verify_keys as Record<string, { key: string }>);
    expect(verifyJsonSignature(res.body, HS, keyId, key)).toBe(true);
  });

  it('answers GET /_matrix/federation/v1/version', async () => {
    const res = await t.http.get('/_matrix/federation/v1/version');
    expect(res.status).toBe(200);
    expectMatchesSpec(res, 'api/server-server/version.yaml', 'get', '/version');
    expect(res.body.server.name).toBe('Lattice');
  });

  describe('incoming X-Matrix requests', () => {
    const uri = () => `/_matrix/federation/v1/user/devices/${encodeURIComponent(alice.userId)}`;

    it('serves a local user’s devices to a correctly signed request', async () => {
      const res = await t.http.get(uri()).set('Authorization', remote.sign('GET', uri(), HS));
      expect(res.status).toBe(200);
      expectMatchesSpec(res, 'api/server-server/user_devices.yaml', 'get', '/user/devices/{userId}');
      expect(res.body.user_id).toBe(alice.userId);
      expect(res.body.stream_id).toBeGreaterThan(0);
      expect(res.body.devices).toEqual([
        { device_id: alice.deviceId, keys: remote.deviceKeys(alice.userId, alice.deviceId) },
      ]);
    });

    it('refuses wrong signatures, destinations, origins and keys with 401 M_UNAUTHORIZED', async () => {
      const good = remote.sign('GET', uri(), HS);
      const headers = [
        undefined,
        'Bearer abc',
        remote.sign('GET', uri(), 'other.test'),
        remote.sign('GET', `${uri()}?tampered=1`, HS),
        remote.sign('POST', uri(), HS),
        good.replace('origin="remote.test"', 'origin="gone.test"'),
        good.replace('key="ed25519:fake1"', 'key="ed25519:unknown"'),
        good.replace(/sig="[^"]+"/, 'sig="AAAA"'),
        good.replace('origin="remote.test"', 'origin="not a server"'),
      ];
      for (const h of headers) {
        const req = t.http.get(uri());
        const res = await (h ? req.set('Authorization', h) : req);
        expect({ h, status: res.status, errcode: res.body.errcode }).toEqual({
          h,
          status: 401,
          errcode: 'M_UNAUTHORIZED',
        });
      }
    });

    it('checks the signed body of POST requests', async () => {
      const path = '/_matrix/federation/v1/user/keys/query';
      const body = { device_keys: { [alice.userId]: [] } };
      const ok = await t.http
        .post(path)
        .set('Authorization', remote.sign('POST', path, HS, body))
        .send(body);
      expect(ok.status).toBe(200);
      expectMatchesSpec(ok, 'api/server-server/user_keys.yaml', 'post', '/user/keys/query');
      expect(Object.keys(ok.body.device_keys[alice.userId])).toEqual([alice.deviceId]);
      const tampered = await t.http
        .post(path)
        .set('Authorization', remote.sign('POST', path, HS, body))
        .send({ device_keys: { [alice.userId]: ['X'] } });
      expect([tampered.status, tampered.body.errcode]).toEqual([401, 'M_UNAUTHORIZED']);
    });

    it('hands out one-time keys over federation', async () => {
      const path = '/_matrix/federation/v1/user/keys/claim';
      const body = { one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } };
      const res = await t.http
        .post(path)
        .set('Authorization', remote.sign('POST', path, HS, body))
        .send(body);
      expect(res.status).toBe(200);
      expectMatchesSpec(res, 'api/server-server/user_keys.yaml', 'post', '/user/keys/claim');
      expect(res.body.one_time_keys[alice.userId][alice.deviceId]).toEqual({
        'signed_curve25519:AAAA': { key: 'k1', signatures: {} },
      });
    });

    it('answers bad input on federation routes with Matrix 4xx', async () => {
      const devices = (id: string) => `/_matrix/federation/v1/user/devices/${encodeURIComponent(id)}`;
      for (const [id, status] of [
        ['not-a-user', 400],
        ['@bob:remote.test', 400],
        ['@nobody:hs1.test', 404],
      ] as const) {
        const res = await t.http.get(devices(id)).set('Authorization', remote.sign('GET', devices(id), HS));
        expect({ id, status: res.status }).toEqual({ id, status });
        expect(res.body.errcode).toMatch(/^M_/);
      }
      const path = '/_matrix/federation/v1/user/keys/query';
      for (const body of [{}, { device_keys: 'x' }, { device_keys: { bad: [] } }]) {
        const res = await t.http
          .post(path)
          .set('Authorization', remote.sign('POST', path, HS, body))
          .send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      const claim = '/_matrix/federation/v1/user/keys/claim';
      for (const body of [
        {},
        { one_time_keys: 'x' },
        { one_time_keys: { [alice.userId]: 'x' } },
        { one_time_keys: { x: {} } },
      ]) {
        const res = await t.http
          .post(claim)
          .set('Authorization', remote.sign('POST', claim, HS, body))
          .send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      const send = '/_matrix/federation/v1/send/t1';
      for (const body of [{}, { origin: 'remote.test', origin_server_ts: 1, pdus: 'x' }]) {
        const res = await t.http
          .put(send)
          .set('Authorization', remote.sign('PUT', send, HS, body))
          .send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
      const wrongOrigin = { origin: 'gone.test', origin_server_ts: 1, pdus: [] };
      const res = await t.http
        .put(send)
        .set('Authorization', remote.sign('PUT', send, HS, wrongOrigin))
        .send(wrongOrigin);
      expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    });
  });

  describe('notary', () => {
    it('serves other servers’ keys counter-signed, and its own', async () => {
      const res = await t.http.get('/_matrix/key/v2/query/remote.test');
      expect(res.status).toBe(200);
      expectMatchesSpec(res, 'api/server-server/keys_query.yaml', 'get', '/query/{serverName}');
      const [answer] = res.body.server_keys;
      expect(answer.server_name).toBe('remote.test');
      expect(verifyJsonSignature(answer, 'remote.test', 'ed25519:fake1', remote.key.publicKeyBase64)).toBe(
        true,
      );
      const own = (await t.http.get('/_matrix/key/v2/server')).body;
      const [[ownKeyId, { key }]] = Object.entries(own.verify_keys as Record<string, { key: string }>);
      expect(verifyJsonSignature(answer, HS, ownKeyId, key)).toBe(true);

      const post = await t.http
        .post('/_matrix/key/v2/query')
        .send({ server_keys: { 'remote.test': { 'ed25519:fake1': {} }, [HS]: {}, 'gone.test': {} } });
      expect(post.status).toBe(200);
      expectMatchesSpec(post, 'api/server-server/keys_query.yaml', 'post', '/query');
      expect(post.body.server_keys.map((k: { server_name: string }) => k.server_name).sort()).toEqual([
        HS,
        'remote.test',
      ]);
      for (const k of post.body.server_keys)
        expectMatchesSchema(k, 'api/server-server/definitions/keys.yaml');
    });

    it('answers bad notary queries with Matrix 4xx', async () => {
      for (const [path, q] of [
        ['/_matrix/key/v2/query/not%20a%20server', ''],
        ['/_matrix/key/v2/query/remote.test', '?minimum_valid_until_ts=soon'],
      ]) {
        const res = await t.http.get(`${path}${q}`);
        expect({ path, status: res.status, errcode: res.body.errcode }).toEqual({
          path,
          status: 400,
          errcode: 'M_INVALID_PARAM',
        });
      }
      for (const body of [
        {},
        { server_keys: [] },
        { server_keys: { 'bad name': {} } },
        { server_keys: { a: 1 } },
      ]) {
        const res = await t.http.post('/_matrix/key/v2/query').send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
      }
    });
  });

  describe('remote users', () => {
    it('keys/query asks the remote once and then answers from the cache', async () => {
      const query = () =>
        t.http
          .post('/_matrix/client/v3/keys/query')
          .set(auth(alice))
          .send({ device_keys: { [bob]: [] } });
      const first = await query();
      expect(first.status).toBe(200);
      expectMatchesSpec(first, 'api/client-server/keys.yaml', 'post', '/keys/query');
      expect(first.body.failures).toEqual({});
      expect(first.body.device_keys[bob]).toEqual({
        BOBPHONE: { ...remote.deviceKeys(bob, 'BOBPHONE'), unsigned: { device_display_name: 'Bob phone' } },
      });
      expect(remote.count('/_matrix/federation/v1/user/keys/query')).toBe(1);
      expect((await query()).body.device_keys[bob]).toEqual(first.body.device_keys[bob]);
      expect(remote.count('/_matrix/federation/v1/user/keys/query')).toBe(1);
    });

    it('an m.device_list_update makes the cached list stale and refetched', async () => {
      remote.devices.get(bob)!.push({ device_id: 'BOBLAPTOP', keys: remote.deviceKeys(bob, 'BOBLAPTOP') });
      const path = '/_matrix/federation/v1/send/txn1';
      const body = {
        origin: 'remote.test',
        origin_server_ts: Date.now(),
        pdus: [],
        edus: [
          {
            edu_type: 'm.device_list_update',
            content: { user_id: bob, device_id: 'BOBLAPTOP', stream_id: 2, prev_id: [1], deleted: false },
          },
          {
            edu_type: 'm.device_list_update',
            content: { user_id: '@mallory:elsewhere.test', device_id: 'X' },
          },
          { edu_type: 'm.typing', content: {} },
        ],
      };
      const res = await t.http
        .put(path)
        .set('Authorization', remote.sign('PUT', path, HS, body))
        .send(body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ pdus: {} });
      expectMatchesSpec(res, 'api/server-server/transactions.yaml', 'put', '/send/{txnId}');
      // The background refresh (or the next query) fetches the list again.
      const deadline = Date.now() + 10_000;
      let devices: Record<string, unknown> = {};
      while (Date.now() < deadline) {
        const q = await t.http
          .post('/_matrix/client/v3/keys/query')
          .set(auth(alice))
          .send({ device_keys: { [bob]: [] } });
        devices = q.body.device_keys[bob];
        if (Object.keys(devices).length === 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(Object.keys(devices).sort()).toEqual(['BOBLAPTOP', 'BOBPHONE']);
      // The refetched list is a change in the device-list stream; /keys/changes lists it only to
      // users sharing a room with bob, which alice does not.
      const recorded = await t.sql(`SELECT 1 FROM keyserver_device_list_changes WHERE user_id = $1`, [bob]);
      expect(recorded.length).toBeGreaterThan(0);
      const changes = await t.http.get('/_matrix/client/v3/keys/changes?from=s0').set(auth(alice));
      expect(changes.body.changed).not.toContain(bob);
    });

    it('keys/claim forwards remote users to their server and reports unreachable ones', async () => {
      const res = await t.http
        .post('/_matrix/client/v3/keys/claim')
        .set(auth(alice))
        .send({
          one_time_keys: {
            [bob]: { BOBPHONE: 'signed_curve25519' },
            '@x:gone.test': { D: 'signed_curve25519' },
          },
        });
      expect(res.status).toBe(200);
      expectMatchesSpec(res, 'api/client-server/keys.yaml', 'post', '/keys/claim');
      expect(res.body.one_time_keys[bob].BOBPHONE).toEqual({
        'signed_curve25519:AAAA': { key: 'otk', signatures: {} },
      });
      expect(Object.keys(res.body.failures)).toEqual(['gone.test']);
    });
  });

  describe('POST /_dendrite/admin/refreshDevices/{userID}', () => {
    const refresh = (userId: string, user: TestUser = admin) =>
      t.http.post(`/_dendrite/admin/refreshDevices/${encodeURIComponent(userId)}`).set(auth(user));

    it('fetches a user never seen before and stores the devices', async () => {
      const carol = '@carol:remote.test';
      remote.devices.set(carol, [{ device_id: 'C1', keys: remote.deviceKeys(carol, 'C1') }]);
      const before = remote.count('/_matrix/federation/v1/user/devices/');
      const queriesBefore = remote.count('/_matrix/federation/v1/user/keys/query');
      const res = await refresh(carol);
      expect([res.status, res.body]).toEqual([200, {}]);
      expect(remote.count('/_matrix/federation/v1/user/devices/')).toBe(before + 1);
      const q = await t.http
        .post('/_matrix/client/v3/keys/query')
        .set(auth(alice))
        .send({ device_keys: { [carol]: [] } });
      expect(Object.keys(q.body.device_keys[carol])).toEqual(['C1']);
      // Answered from what refreshDevices stored, without asking the remote again.
      expect(remote.count('/_matrix/federation/v1/user/keys/query')).toBe(queriesBefore);
    });

    it('refuses local and malformed user IDs with 400 M_INVALID_PARAM, and non-admins with 403', async () => {
      for (const id of [alice.userId, '!notvalid:test', 'nocolon', '@:x']) {
        const res = await refresh(id);
        expect({ id, status: res.status, errcode: res.body.errcode }).toEqual({
          id,
          status: 400,
          errcode: 'M_INVALID_PARAM',
        });
      }
      const res = await refresh('@bob:remote.test', alice);
      expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
      expect((await t.http.post('/_dendrite/admin/refreshDevices/x')).status).toBe(401);
    });

    it('answers 502 naming the server when it is unreachable or refuses, keeping the cache', async () => {
      const gone = await refresh('@x:gone.test');
      expect(gone.status).toBe(502);
      expect(gone.body.errcode).toBe('M_UNKNOWN');
      expect(gone.body.error).toContain('gone.test');

      remote.refuseWith = 403;
      try {
        const refused = await refresh(bob);
        expect(refused.status).toBe(502);
        expect(refused.body.error).toContain('remote.test');
        expect(refused.body.error).toContain('403');
      } finally {
        remote.refuseWith = null;
      }
      const q = await t.http
        .post('/_matrix/client/v3/keys/query')
        .set(auth(alice))
        .send({ device_keys: { [bob]: [] } });
      expect(Object.keys(q.body.device_keys[bob]).sort()).toEqual(['BOBLAPTOP', 'BOBPHONE']);
    });
  });
});
