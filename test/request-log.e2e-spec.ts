import { TestApp } from './helpers/test-app.js';

/** What an operator reads about requests at the default level (info). */
describe('request log', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await TestApp.start();
  });
  afterAll(async () => {
    await t.close();
  });

  const requestLines = () =>
    t.logs.lines.filter((l) => l.msg === 'request completed' || l.msg === 'request errored');

  it('records a refused request at info, with its status and without the access token it carried', async () => {
    const before = requestLines().length;
    const res = await t.http.get('/_matrix/client/v3/account/whoami?access_token=lat_not_a_real_token&x=1');
    expect(res.status).toBe(401);
    const lines = requestLines().slice(before);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        method: 'GET',
        url: '/_matrix/client/v3/account/whoami?access_token=[redacted]&x=1',
        status: 401,
        ip: expect.any(String),
        responseTime: expect.any(Number),
      }),
    ]);
    expect(JSON.stringify(t.logs.lines)).not.toContain('lat_not_a_real_token');
  });

  it('redacts the token whatever its parameter name is percent-encoded as', async () => {
    const before = requestLines().length;
    const res = await t.http.get('/_matrix/client/v3/account/whoami?access%5Ftoken=lat_encoded_name_token');
    expect(res.status).toBe(401);
    expect(requestLines().slice(before)).toEqual([
      expect.objectContaining({
        status: 401,
        url: '/_matrix/client/v3/account/whoami?access%5Ftoken=[redacted]',
      }),
    ]);
    expect(JSON.stringify(t.logs.lines)).not.toContain('lat_encoded_name_token');
  });

  it('logs requests refused before routing too (a path that is not valid percent-encoding)', async () => {
    const before = requestLines().length;
    const res = await t.http.get('/_matrix/client/v3/profile/%E0%A4%A?access_token=lat_unrouted_token');
    expect(res.status).toBe(400);
    expect(requestLines().slice(before)).toEqual([
      expect.objectContaining({
        level: 30,
        status: 400,
        url: '/_matrix/client/v3/profile/%E0%A4%A?access_token=[redacted]',
      }),
    ]);
    expect(JSON.stringify(t.logs.lines)).not.toContain('lat_unrouted_token');
  });

  it('leaves successful requests to the debug level', async () => {
    const before = requestLines().length;
    expect((await t.http.get('/_matrix/client/versions')).status).toBe(200);
    expect(requestLines().slice(before)).toEqual([]);
  });
});
