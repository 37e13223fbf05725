import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { hashToken } from '../src/accounts/services/tokens.js';
import { describeRoute, fillPath, listRoutes, type Route } from './helpers/routes.js';
import { TestApp, type TestUser } from './helpers/test-app.js';

/**
 * Bad input on any route is a Matrix 4xx, never a 500: every POST, PUT and DELETE route the app serves
 * (routes added later included) gets malformed JSON, non-object JSON and bodies whose fields have
 * the wrong types, with an admin token so that handlers really run.
 */
const PASSWORD = 'correct horse battery';

/** Field names the Matrix and admin APIs use; each wrong-typed body sets all of them to one type. */
const FIELDS = [
  'username',
  'password',
  'new_password',
  'auth',
  'type',
  'identifier',
  'user',
  'device_id',
  'initial_device_display_name',
  'inhibit_login',
  'logout_devices',
  'admin',
  'nonce',
  'mac',
  'displayname',
  'avatar_url',
  'display_name',
  'devices',
  'order',
  'tags',
  'content',
  'body',
  'msgtype',
  'room_id',
  'user_id',
  'reason',
  'name',
  'topic',
  'preset',
  'visibility',
  'invite',
  'invite_3pid',
  'room_alias_name',
  'initial_state',
  'power_level_content_override',
  'creation_content',
  'is_direct',
  'room_version',
  'search_categories',
  'filter',
  'limit',
  'device_keys',
  'one_time_keys',
  'fallback_keys',
  'timeout',
  'token',
  'uses_allowed',
  'expiry_time',
  'length',
  'valid',
  'state_key',
  'event_id',
  'messages',
  'membership',
  'score',
  'server_name',
  'servers',
  'via',
  'event_types',
  'room_ids',
  'erase',
  'event',
  'account_data',
  'presence',
  'event_fields',
  'event_format',
  'room',
  'not_rooms',
  'rooms',
  'keys',
  'order_by',
  'event_context',
  'search_term',
  'groupings',
  'include_leave',
  'refresh_token',
  'txn_id',
] as const;

const WRONG_VALUES: [string, unknown][] = [
  ['numbers', 12345678],
  ['negative numbers', -1],
  ['floats', 1.5],
  ['long strings', 'not-what-you-expected'],
  ['empty strings', ''],
  ['booleans', true],
  ['nulls', null],
  ['arrays', [1, 'two', null]],
  ['empty objects', {}],
  ['nested objects', { type: 7, user: [], content: 'x' }],
];

const wrongBodies = (): [string, Record<string, unknown>][] => [
  ['an empty object', {}],
  ...WRONG_VALUES.map(([name, v]): [string, Record<string, unknown>] => [
    `all fields ${name}`,
    Object.fromEntries(FIELDS.map((f) => [f, v])),
  ]),
  [
    'deeply nested',
    { content: { a: { b: { c: [{ d: null }] } } }, auth: { type: 'm.login.password', identifier: 5 } },
  ],
];

function isMatrixError(res: request.Response): boolean {
  if (typeof res.body?.errcode === 'string' && /^M_[A-Z_]+$/.test(res.body.errcode))
    return typeof res.body.error === 'string';
  // A user-interactive-auth challenge: a 401 that tells the client which stages to complete.
  return res.status === 401 && Array.isArray(res.body?.flows) && typeof res.body?.session === 'string';
}

describe('bad input on every route that takes a body (POST, PUT, DELETE)', () => {
  let t: TestApp;
  let admin: TestUser;
  let routes: Route[];
  let sessions = 0;

  beforeAll(async () => {
    t = await TestApp.start();
    admin = await t.registerAdmin('walker0');
    routes = listRoutes(t.app).filter((r) => r.method !== 'get');
  });
  afterAll(async () => {
    await t.close();
  });

  /**
   * Routes like /logout end the admin's session (and others might demote or deactivate): give the
   * admin a fresh session straight in the database, which is much faster than a bcrypt login.
   */
  async function keepAdmin(): Promise<void> {
    const who = await t.http
      .get('/_matrix/client/v3/account/whoami')
      .set('Authorization', `Bearer ${admin.accessToken}`);
    if (who.status === 200) return;
    const token = `lat_walk_${randomBytes(16).toString('hex')}`;
    const deviceId = `WALK${++sessions}`;
    await t.sql(`UPDATE userapi_accounts SET account_type = 3, is_deactivated = false WHERE localpart = $1`, [
      admin.localpart,
    ]);
    await t.sql(
      `INSERT INTO userapi_devices (device_id, localpart, server_name, access_token_hash, created_ts)
       VALUES ($1, $2, $3, $4, $5)`,
      [deviceId, admin.localpart, t.serverName, hashToken(token), Date.now()],
    );
    admin = { ...admin, accessToken: token, deviceId };
  }

  const pathOf = (route: Route) =>
    fillPath(route, {
      userId: admin.userId,
      userID: admin.userId,
      deviceId: admin.deviceId,
      roomId: '!nowhere:test',
      roomID: '!nowhere:test',
      roomIdOrAlias: '!nowhere:test',
      alias: '#nowhere:test',
      roomAlias: '#nowhere:test',
      serverName: 'test',
      eventId: '$nothing',
      jobId: 'admin-none',
    });

  function send(route: Route, body: string | object, contentType = 'application/json') {
    const agent = request(t.app.getHttpServer());
    return agent[route.method](pathOf(route))
      .set('Authorization', `Bearer ${admin.accessToken}`)
      .set('Content-Type', contentType)
      .send(body);
  }

  it('has POST, PUT and DELETE routes to walk', () => {
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.map(describeRoute)).toEqual(
      expect.arrayContaining([
        'POST /_matrix/client/v3/login',
        'POST /_dendrite/admin/resetPassword/:userId',
      ]),
    );
  });

  it('answers malformed JSON with 400 M_NOT_JSON everywhere', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const [raw, type] of [
        ['{"unterminated": ', 'application/json'],
        ['{invalidJSON}', 'application/json'],
        ['not json at all', 'text/plain'],
        ['{"a":1}}', 'application/json'],
      ]) {
        const res = await send(route, raw, type);
        if (res.status !== 400 || res.body?.errcode !== 'M_NOT_JSON' || typeof res.body.error !== 'string')
          wrong.push(`${describeRoute(route)} ${raw}: ${res.status} ${res.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers JSON that is not an object with 400 M_BAD_JSON everywhere', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const raw of ['[]', '[{"password":"x"}]', '"a string"', '42', 'true', 'null']) {
        const res = await send(route, raw);
        if (res.status !== 400 || res.body?.errcode !== 'M_BAD_JSON' || typeof res.body.error !== 'string')
          wrong.push(`${describeRoute(route)} ${raw}: ${res.status} ${res.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers absurdly nested bodies with 400 M_BAD_JSON everywhere', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const depth of [101, 5000]) {
        const res = await send(route, `{"content":${'['.repeat(depth)}${']'.repeat(depth)}}`);
        if (res.status !== 400 || res.body?.errcode !== 'M_BAD_JSON')
          wrong.push(`${describeRoute(route)} nesting ${depth}: ${res.status} ${res.text}`);
      }
    }
    expect(wrong).toEqual([]);
    // 100 levels are fine (PUT account data takes any object).
    const ok = await request(t.app.getHttpServer())
      .put(`/_matrix/client/v3/user/${encodeURIComponent(admin.userId)}/account_data/org.example.deep`)
      .set('Authorization', `Bearer ${admin.accessToken}`)
      .set('Content-Type', 'application/json')
      .send(`{"content":${'['.repeat(99)}${']'.repeat(99)}}`);
    expect(ok.status).toBe(200);
  });

  it('answers NUL characters in bodies with Matrix errors, never a 500 (PostgreSQL cannot store them)', async () => {
    const bodies: [string, string][] = [
      ['NUL in every string', JSON.stringify(Object.fromEntries(FIELDS.map((f) => [f, 'a\u0000b'])))],
      ['NUL in a nested key', JSON.stringify({ content: { 'k\u0000': 1 }, auth: { type: 'm.login.dummy' } })],
    ];
    const wrong: string[] = [];
    for (const route of routes) {
      for (const [name, raw] of bodies) {
        const res = await send(route, raw);
        if (res.status >= 500 || (res.status >= 400 && !isMatrixError(res)))
          wrong.push(`${describeRoute(route)} ${name}: ${res.status} ${res.text}`);
        if (res.status < 300 || res.status === 401) await keepAdmin();
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers wrong-typed bodies with Matrix errors, never a 500', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      for (const [name, body] of wrongBodies()) {
        const res = await send(route, body);
        if (res.status >= 500 || (res.status >= 400 && !isMatrixError(res)))
          wrong.push(`${describeRoute(route)} with ${name}: ${res.status} ${res.text}`);
        // Only a request that succeeded (or a token that died) can have changed the admin's session.
        if (res.status < 300 || res.status === 401) await keepAdmin();
      }
    }
    expect(wrong).toEqual([]);
    expect(t.logs.lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
  });
});

describe('bad path parameters on every route', () => {
  let t: TestApp;
  let admin: TestUser;
  let routes: Route[];
  beforeAll(async () => {
    t = await TestApp.start();
    admin = await t.registerAdmin('paramwalker');
    routes = listRoutes(t.app);
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['a NUL character', 'a\u0000b'],
    ['an over-long value', 'x'.repeat(2000)],
    ['non-ASCII text', 'é🙂'],
    ['something that looks like a path', '../../etc/passwd'],
  ])('answers %s in every path parameter with a Matrix error, never a 500', async (_name, value) => {
    const wrong: string[] = [];
    for (const route of routes) {
      if (!/[:*]/.test(route.pattern)) continue;
      const path = fillPath(route, new Proxy({}, { get: () => value }) as Record<string, string>);
      const agent = request(t.app.getHttpServer());
      const res = await agent[route.method](path)
        .set('Authorization', `Bearer ${admin.accessToken}`)
        .send({});
      if (res.status >= 500 || (res.status >= 400 && !isMatrixError(res)))
        wrong.push(`${describeRoute(route)}: ${res.status} ${res.text}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('bad query parameters on every GET route', () => {
  let t: TestApp;
  let admin: TestUser;
  beforeAll(async () => {
    t = await TestApp.start();
    admin = await t.registerAdmin('querywalker');
  });
  afterAll(async () => {
    await t.close();
  });

  const PARAMS = [
    'from',
    'to',
    'since',
    'filter',
    'dir',
    'limit',
    'username',
    'type',
    'state',
    'kind',
    'at',
    'membership',
    'not_membership',
    'server_name',
    'via',
    'next_batch',
    'format',
    'valid',
    'timeout',
    'full_state',
  ];

  it.each([
    ['NUL characters', 'a\u0000b'],
    ['negative numbers', '-1'],
    ['huge numbers', '99999999999999999999999'],
    ['JSON', '{"a":[1,'],
  ])('answers %s in common query parameters with Matrix errors, never a 500', async (_name, value) => {
    const query = Object.fromEntries(PARAMS.map((p) => [p, value]));
    const wrong: string[] = [];
    for (const route of listRoutes(t.app).filter((r) => r.method === 'get')) {
      const path = fillPath(route, { userId: admin.userId, userID: admin.userId, roomId: '!nowhere:test' });
      const res = await t.http.get(path).query(query).set('Authorization', `Bearer ${admin.accessToken}`);
      if (res.status >= 500 || (res.status >= 400 && !isMatrixError(res)))
        wrong.push(`${describeRoute(route)}: ${res.status} ${res.text}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('routing, errors and CORS', () => {
  let t: TestApp;
  let user: TestUser;
  beforeAll(async () => {
    t = await TestApp.start();
    user = await t.register('router');
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['get', '/_matrix/client/v3/no/such/endpoint'],
    ['post', '/_matrix/client/v3/nothing'],
    ['get', '/_dendrite/admin/noSuchThing'],
    ['post', '/_synapse/admin/v1/nothing'],
    ['get', '/'],
    ['delete', '/whatever'],
  ] as const)('%s %s is 404 M_UNRECOGNIZED', async (method, path) => {
    const res = await t.http[method](path).set('Authorization', `Bearer ${user.accessToken}`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });

  it.each([
    ['delete', '/_matrix/client/v3/login'],
    ['put', '/_matrix/client/v3/account/whoami'],
    ['get', '/_dendrite/admin/resetPassword/@router:test'],
    ['put', '/_lattice/admin/v1/jobs'],
    ['patch', '/_matrix/client/r0/devices'],
    ['post', '/_matrix/client/versions'],
  ] as const)('%s %s (a known path) is 405 M_UNRECOGNIZED', async (method, path) => {
    const res = await t.http[method](path).set('Authorization', `Bearer ${user.accessToken}`);
    expect(res.status).toBe(405);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });

  it.each(['/_matrix/client/v3/rooms//state/m.room.topic', '/_matrix/client/v3/profile//displayname'])(
    '%s (an empty path parameter) is 404 M_UNRECOGNIZED',
    async (path) => {
      const res = await t.http.get(path).set('Authorization', `Bearer ${user.accessToken}`);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    },
  );

  it('answers an OPTIONS request that is not a preflight with 200 and CORS headers', async () => {
    const res = await t.http.options('/_matrix/client/versions');
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('closes idle keep-alive connections after 5 s and gives a request 5 minutes, as Node does', () => {
    const server = t.app.getHttpServer() as { keepAliveTimeout: number; requestTimeout: number };
    expect(server.keepAliveTimeout).toBe(5_000);
    expect(server.requestTimeout).toBe(300_000);
  });

  it('answers OPTIONS preflights with 200 and CORS headers, known path or not', async () => {
    for (const path of ['/_matrix/client/v3/login', '/_dendrite/admin/resetPassword/@x:test', '/nowhere']) {
      const res = await t.http
        .options(path)
        .set('Origin', 'https://app.element.io')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type');
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'])
        expect(res.headers['access-control-allow-methods']).toContain(m);
      for (const h of ['X-Requested-With', 'Content-Type', 'Authorization'])
        expect(res.headers['access-control-allow-headers']).toContain(h);
    }
  });

  it('sets CORS and JSON content type on answers and on errors', async () => {
    for (const res of [
      await t.http.get('/_matrix/client/versions').set('Origin', 'https://app.element.io'),
      await t.http.get('/_matrix/client/v3/account/whoami').set('Origin', 'https://app.element.io'),
      await t.http.get('/nowhere').set('Origin', 'https://app.element.io'),
    ]) {
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('answers a path parameter that is not valid percent-encoding with a Matrix 400', async () => {
    const res = await t.http
      .get('/_matrix/client/v3/profile/%E0%A4%A?access_token=lat_secret_in_the_url')
      .set('Origin', 'https://app.element.io');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body).toEqual({ errcode: 'M_INVALID_PARAM', error: expect.any(String) });
    // The answer does not echo the request target (nor the token in it).
    expect(res.text).not.toContain('lat_secret_in_the_url');
  });

  it('answers an oversized body with 413 M_TOO_LARGE', async () => {
    const res = await t.http
      .put('/_matrix/client/v3/user/@router:test/account_data/big')
      .set('Authorization', `Bearer ${user.accessToken}`)
      .send({ blob: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.errcode).toBe('M_TOO_LARGE');
  });

  it('reads JSON bodies whatever the Content-Type, and refuses unknown encodings as M_NOT_JSON', async () => {
    const login = JSON.stringify({ type: 'm.login.password', user: 'router', password: PASSWORD });
    for (const type of ['text/plain', 'json', '']) {
      const res = await t.http.post('/_matrix/client/v3/login').set('Content-Type', type).send(login);
      expect([type, res.status]).toEqual([type, 200]);
    }
    const withBom = await t.http
      .post('/_matrix/client/v3/login')
      .set('Content-Type', 'application/json')
      .send(`\uFEFF${login}`);
    expect(withBom.status).toBe(200);
    const encoded = await t.http
      .post('/_matrix/client/v3/login')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'x-unknown')
      .send('{}');
    expect(encoded.status).toBe(400);
    expect(encoded.body.errcode).toBe('M_NOT_JSON');
    const charset = await t.http
      .post('/_matrix/client/v3/login')
      .set('Content-Type', 'application/json; charset=klingon')
      .send('{}');
    expect(charset.status).toBe(400);
    expect(charset.body.errcode).toBe('M_NOT_JSON');
  });

  it('answers /_matrix/client/versions and /health', async () => {
    const versions = await t.http.get('/_matrix/client/versions');
    expect(versions.status).toBe(200);
    expect(versions.body.versions).toEqual(expect.arrayContaining(['v1.1', 'v1.2', 'v1.3']));
    const health = await t.http.get('/health');
    expect(health.status).toBe(200);
  });
});
