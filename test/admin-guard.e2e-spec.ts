import request from 'supertest';
import { describeRoute, fillPath, listRoutes, type ParamValues, type Route } from './helpers/routes.js';
import { TestApp, type TestUser } from './helpers/test-app.js';

/**
 * Decision 3 of the design, for every admin route the app serves (routes added by later work are
 * picked up from the router): no token 401 M_MISSING_TOKEN, bad token 401 M_UNKNOWN_TOKEN, guest
 * 403 M_GUEST_ACCESS_FORBIDDEN, plain user 403 M_FORBIDDEN, admin let through.
 */
const ADMIN_PREFIXES = ['/_dendrite/admin/', '/_synapse/admin/', '/_lattice/admin/'];
/** Authenticated by the shared secret, not by a token. */
const UNGUARDED = new Set(['/_synapse/admin/v1/register']);

const isWhois = (r: Route) => r.pattern.includes('/admin/whois/') || r.pattern.includes('/whois/');
const isAdminRoute = (r: Route) =>
  !UNGUARDED.has(r.pattern) &&
  (ADMIN_PREFIXES.some((p) => r.pattern.startsWith(p)) || r.pattern.includes('/admin/whois/'));

/** Parameters point at things that do not exist, so an admin getting through changes nothing. */
const PARAMS: ParamValues = {
  roomId: '!nowhere:test',
  roomID: '!nowhere:test',
  roomIdOrAlias: '!nowhere:test',
  alias: '#nowhere:test',
  roomAlias: '#nowhere:test',
  serverName: 'test',
  eventId: '$nothing',
  txnId: 'guard-walk',
  txnID: 'guard-walk',
  jobId: 'admin-none',
  token: 'nonexistenttoken',
  reportId: '999999',
};

describe('admin guard on every admin route', () => {
  let t: TestApp;
  let routes: Route[];
  let plain: TestUser;
  let admin: TestUser;
  let guestToken: string;

  beforeAll(async () => {
    t = await TestApp.start();
    routes = listRoutes(t.app).filter(isAdminRoute);
    admin = await t.registerAdmin('guardadmin');
    plain = await t.register('plainuser');
    const guest = await t.http.post('/_matrix/client/v3/register?kind=guest').send({});
    guestToken = guest.body.access_token;
  });
  afterAll(async () => {
    await t.close();
  });

  /** The path for a caller: whois looks at somebody else, so being oneself grants nothing. */
  const pathFor = (route: Route) =>
    fillPath(route, { ...PARAMS, userId: '@guardadmin:test', userID: '@guardadmin:test' }, 'x');

  function send(route: Route, token?: string) {
    let req = request(t.app.getHttpServer())[route.method](pathFor(route));
    if (token !== undefined) req = req.set('Authorization', `Bearer ${token}`);
    return route.method === 'get' || route.method === 'delete' ? req : req.send({});
  }

  it('finds the admin routes, including the known ones', () => {
    const names = routes.map(describeRoute);
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /_matrix/client/v3/admin/whois/:userId',
        'GET /_matrix/client/r0/admin/whois/:userId',
        'GET /_synapse/admin/v1/whois/:userId',
        'POST /_dendrite/admin/resetPassword/:userId',
        'GET /_lattice/admin/v1/jobs',
        'GET /_lattice/admin/v1/jobs/:jobId',
      ]),
    );
    expect(names).not.toContain('POST /_synapse/admin/v1/register');
  });

  const cases: [string, () => string | undefined, number, string][] = [
    ['no token', () => undefined, 401, 'M_MISSING_TOKEN'],
    ['an unknown token', () => 'lat_not_a_real_token', 401, 'M_UNKNOWN_TOKEN'],
    ['a guest', () => guestToken, 403, 'M_GUEST_ACCESS_FORBIDDEN'],
    ['a plain user', () => plain.accessToken, 403, 'M_FORBIDDEN'],
  ];

  it.each(cases)('refuses %s on every admin route', async (_who, token, status, errcode) => {
    const wrong: string[] = [];
    for (const route of routes) {
      const res = await send(route, token());
      if (res.status !== status || res.body?.errcode !== errcode || typeof res.body?.error !== 'string') {
        wrong.push(`${describeRoute(route)}: ${res.status} ${res.text}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lets an admin through on every admin route', async () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const res = await send(route, admin.accessToken);
      const refused =
        res.status === 401 ||
        (res.status === 403 && res.body?.error === 'This API can only be used by admin users.');
      if (refused || res.status >= 500) wrong.push(`${describeRoute(route)}: ${res.status} ${res.text}`);
    }
    expect(wrong).toEqual([]);
    // The plain user and the guest are still who they were (no route logged them out).
    expect(
      (
        await t.http
          .get('/_matrix/client/v3/account/whoami')
          .set('Authorization', `Bearer ${plain.accessToken}`)
      ).status,
    ).toBe(200);
  });

  it('whois: a plain user may look at themselves only', async () => {
    for (const route of routes.filter(isWhois)) {
      const self = await request(t.app.getHttpServer())
        .get(fillPath(route, { userId: '@plainuser:test' }))
        .set('Authorization', `Bearer ${plain.accessToken}`);
      expect(self.status).toBe(200);
    }
  });
});
