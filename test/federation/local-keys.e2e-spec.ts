import { TestApp, auth, type TestUser } from '../helpers/test-app.js';
import { expectMatchesSpec } from '../helpers/matrix-schema.js';

function deviceKeys(user: TestUser, extra: Record<string, unknown> = {}) {
  return {
    user_id: user.userId,
    device_id: user.deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${user.deviceId}`]: 'curvekey', [`ed25519:${user.deviceId}`]: 'edkey' },
    signatures: { [user.userId]: { [`ed25519:${user.deviceId}`]: 'sig' } },
    ...extra,
  };
}

const otk = (n: string) => ({ key: `otk-${n}`, signatures: { '@x:test': { 'ed25519:X': 'sig' } } });

describe('end-to-end keys of local users', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    t = await TestApp.start();
    alice = await t.register('alice');
    bob = await t.register('bob');
    await t.http
      .put(`/_matrix/client/v3/devices/${alice.deviceId}`)
      .set(auth(alice))
      .send({ display_name: "Alice's phone" });
    // /keys/changes lists only users sharing a room with the caller.
    const room = await t.http
      .post('/_matrix/client/v3/createRoom')
      .set(auth(alice))
      .send({ preset: 'public_chat' });
    await t.http.post(`/_matrix/client/v3/join/${encodeURIComponent(room.body.room_id)}`).set(auth(bob));
  });
  afterAll(async () => {
    await t.close();
  });

  it('uploads device keys, one-time and fallback keys and answers the counts', async () => {
    const res = await t.http
      .post('/_matrix/client/v3/keys/upload')
      .set(auth(alice))
      .send({
        device_keys: deviceKeys(alice),
        one_time_keys: { 'signed_curve25519:AAAAAQ': otk('1'), 'signed_curve25519:AAAAAg': otk('2') },
        fallback_keys: { 'signed_curve25519:AAAAFB': { ...otk('fb'), fallback: true } },
      });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ one_time_key_counts: { signed_curve25519: 2 } });
    expectMatchesSpec(res, 'api/client-server/keys.yaml', 'post', '/keys/upload');

    // An empty upload just reports the counts (r0 path too).
    const empty = await t.http.post('/_matrix/client/r0/keys/upload').set(auth(alice)).send({});
    expect(empty.body).toEqual({ one_time_key_counts: { signed_curve25519: 2 } });
  });

  it('answers keys/query with the device keys and display name', async () => {
    const res = await t.http
      .post('/_matrix/client/v3/keys/query')
      .set(auth(bob))
      .send({ device_keys: { [alice.userId]: [], [bob.userId]: [], '@nobody:test': [] } });
    expect(res.status).toBe(200);
    expectMatchesSpec(res, 'api/client-server/keys.yaml', 'post', '/keys/query');
    expect(res.body.failures).toEqual({});
    expect(res.body.device_keys[alice.userId]).toEqual({
      [alice.deviceId]: { ...deviceKeys(alice), unsigned: { device_display_name: "Alice's phone" } },
    });
    expect(res.body.device_keys[bob.userId]).toEqual({});

    const one = await t.http
      .post('/_matrix/client/v3/keys/query')
      .set(auth(bob))
      .send({ device_keys: { [alice.userId]: ['OTHER'] } });
    expect(one.body.device_keys[alice.userId]).toEqual({});
  });

  it('hands out each one-time key once, then the fallback key', async () => {
    const claim = () =>
      t.http
        .post('/_matrix/client/v3/keys/claim')
        .set(auth(bob))
        .send({ one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } });
    const first = await claim();
    expect(first.status).toBe(200);
    expectMatchesSpec(first, 'api/client-server/keys.yaml', 'post', '/keys/claim');
    expect(first.body.one_time_keys[alice.userId][alice.deviceId]).toEqual({
      'signed_curve25519:AAAAAQ': otk('1'),
    });
    expect((await claim()).body.one_time_keys[alice.userId][alice.deviceId]).toEqual({
      'signed_curve25519:AAAAAg': otk('2'),
    });
    const fallback = await claim();
    expect(fallback.body.one_time_keys[alice.userId][alice.deviceId]).toEqual({
      'signed_curve25519:AAAAFB': { ...otk('fb'), fallback: true },
    });
    expect((await claim()).body.one_time_keys[alice.userId][alice.deviceId]).toBeDefined();
    const counts = await t.http.post('/_matrix/client/v3/keys/upload').set(auth(alice)).send({});
    expect(counts.body.one_time_key_counts).toEqual({ signed_curve25519: 0 });
  });

  it('refuses bad uploads with Matrix 4xx errors', async () => {
    const upload = (body: unknown) =>
      t.http
        .post('/_matrix/client/v3/keys/upload')
        .set(auth(alice))
        .send(body as object);
    const cases: [unknown, number, string][] = [
      [{ device_keys: deviceKeys(alice, { user_id: bob.userId }) }, 400, 'M_INVALID_PARAM'],
      [{ device_keys: deviceKeys(alice, { device_id: 'NOTMINE' }) }, 400, 'M_INVALID_PARAM'],
      [{ device_keys: deviceKeys(alice, { algorithms: 'x' }) }, 400, 'M_BAD_JSON'],
      [{ device_keys: deviceKeys(alice, { keys: { a: 1 } }) }, 400, 'M_BAD_JSON'],
      [{ device_keys: 'x' }, 400, 'M_BAD_JSON'],
      [{ one_time_keys: { nocolon: 'k' } }, 400, 'M_BAD_JSON'],
      [{ one_time_keys: { 'signed_curve25519:A': { nokey: 1 } } }, 400, 'M_BAD_JSON'],
      [{ one_time_keys: [] }, 400, 'M_BAD_JSON'],
      [{ fallback_keys: { 'a:1': 'k', 'a:2': 'k' } }, 400, 'M_INVALID_PARAM'],
      [{ one_time_keys: { 'a:\u0000': 'k' } }, 400, 'M_BAD_JSON'],
      [{ device_keys: deviceKeys(alice, { keys: { x: '\u0000' } }) }, 400, 'M_BAD_JSON'],
    ];
    for (const [body, status, errcode] of cases) {
      const res = await upload(body);
      expect({ body, status: res.status, errcode: res.body.errcode }).toEqual({ body, status, errcode });
    }
    // Re-uploading the same one-time key is harmless; changing it is refused.
    expect((await upload({ one_time_keys: { 'curve25519:K1': 'abc' } })).status).toBe(200);
    expect((await upload({ one_time_keys: { 'curve25519:K1': 'abc' } })).status).toBe(200);
    const conflict = await upload({ one_time_keys: { 'curve25519:K1': 'other' } });
    expect([conflict.status, conflict.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const unauth = await t.http.post('/_matrix/client/v3/keys/upload').send({});
    expect([unauth.status, unauth.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
  });

  it('refuses bad queries, claims and change requests with Matrix 4xx errors', async () => {
    const post = (path: string, body: unknown) =>
      t.http
        .post(path)
        .set(auth(bob))
        .send(body as object);
    const cases: [string, unknown, string][] = [
      ['/_matrix/client/v3/keys/query', {}, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/query', { device_keys: [] }, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/query', { device_keys: { 'not-a-user': [] } }, 'M_INVALID_PARAM'],
      ['/_matrix/client/v3/keys/query', { device_keys: { '@a:test': 'x' } }, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/query', { device_keys: {}, timeout: 'soon' }, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/claim', {}, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/claim', { one_time_keys: { '@a:test': { D: 5 } } }, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/claim', { one_time_keys: { bad: {} } }, 'M_INVALID_PARAM'],
      ['/_matrix/client/v3/keys/query', { device_keys: { '@a:test': ['\u0000'] } }, 'M_BAD_JSON'],
      ['/_matrix/client/v3/keys/claim', { one_time_keys: { '@a:test': { '\u0000': 'x' } } }, 'M_BAD_JSON'],
    ];
    for (const [path, body, errcode] of cases) {
      const res = await post(path, body);
      expect({ path, body, status: res.status, errcode: res.body.errcode }).toEqual({
        path,
        body,
        status: 400,
        errcode,
      });
    }
    for (const q of ['', '?from=', '?from=garbage', '?from=s1&to=x']) {
      const res = await t.http.get(`/_matrix/client/v3/keys/changes${q}`).set(auth(bob));
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(res.body.errcode).toMatch(/^M_(BAD_JSON|INVALID_PARAM)$/);
    }
  });

  it('lists device-list changes by stream position, and deletes keys with the device', async () => {
    const all = await t.http.get('/_matrix/client/v3/keys/changes?from=s0&to=s999999').set(auth(bob));
    expect(all.status).toBe(200);
    expectMatchesSpec(all, 'api/client-server/keys.yaml', 'get', '/keys/changes');
    expect(all.body).toEqual({ changed: [alice.userId], left: [] });
    const [{ head }] = await t.sql<{ head: string }>(
      `SELECT max(stream_id) AS head FROM keyserver_device_list_changes`,
    );

    const none = await t.http.get(`/_matrix/client/r0/keys/changes?from=s${head}`).set(auth(bob));
    expect(none.body).toEqual({ changed: [], left: [] });

    // Logging out deletes the device, its keys, and records a change.
    expect((await t.http.post('/_matrix/client/v3/logout').set(auth(alice))).status).toBe(200);
    await waitFor(async () => (await t.sql(`SELECT 1 FROM keyserver_device_keys`)).length === 0);
    expect(await t.sql(`SELECT 1 FROM keyserver_one_time_keys WHERE user_id = $1`, [alice.userId])).toEqual(
      [],
    );
    expect(await t.sql(`SELECT 1 FROM keyserver_fallback_keys WHERE user_id = $1`, [alice.userId])).toEqual(
      [],
    );
    const after = await t.http.get(`/_matrix/client/v3/keys/changes?from=${head}`).set(auth(bob));
    expect(after.body).toEqual({ changed: [alice.userId], left: [] });
    const query = await t.http
      .post('/_matrix/client/v3/keys/query')
      .set(auth(bob))
      .send({ device_keys: { [alice.userId]: [] } });
    expect(query.body.device_keys[alice.userId]).toEqual({});
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
