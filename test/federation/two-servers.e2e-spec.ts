import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import request from 'supertest';
import { buildConfig } from '../../src/config/app-config.js';
import { PG_BASE, REDIS_URL, dropTestState } from '../helpers/test-app.js';
import { expectMatchesSpec } from '../helpers/matrix-schema.js';

const ROOT = resolve(process.cwd());

interface Server {
  name: string;
  env: Record<string, string>;
  url: string;
  process: ChildProcess | null;
  output: string[];
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

async function start(server: Server): Promise<void> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    // A scratch directory: no developer .env is read.
    cwd: mkdtempSync(join(tmpdir(), 'lattice-fed-cwd-')),
    env: { PATH: process.env.PATH ?? '', ...server.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.process = child;
  child.stdout!.on('data', (d: Buffer) => server.output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => server.output.push(d.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited(child)) throw new Error(`${server.name} exited:\n${server.output.join('')}`);
    try {
      if ((await fetch(`${server.url}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${server.name} did not start:\n${server.output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(server: Server): Promise<void> {
  const child = server.process;
  if (!child || exited(child)) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

async function register(base: string, username: string) {
  const http = request(base);
  const first = await http
    .post('/_matrix/client/v3/register')
    .send({ username, password: 'correct horse battery' });
  const res = await http.post('/_matrix/client/v3/register').send({
    username,
    password: 'correct horse battery',
    auth: { type: 'm.login.dummy', session: first.body.session },
  });
  if (res.status !== 200) throw new Error(`register ${username}: ${res.status} ${res.text}`);
  return res.body as { user_id: string; access_token: string; device_id: string };
}

function deviceKeys(userId: string, deviceId: string) {
  return {
    user_id: userId,
    device_id: deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${deviceId}`]: `curve-${deviceId}`, [`ed25519:${deviceId}`]: `ed-${deviceId}` },
    signatures: { [userId]: { [`ed25519:${deviceId}`]: `sig-${deviceId}` } },
  };
}

describe('two Lattice servers: refreshDevices over real federation', () => {
  const id = randomBytes(4).toString('hex');
  const servers: Server[] = [];
  let hs1: Server;
  let hs2: Server;

  beforeAll(async () => {
    // The servers run the compiled build, so build what is being tested.
    await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: ROOT }).catch(
      (err: { stdout?: string }) => {
        throw new Error(`npm run build failed:\n${err.stdout ?? String(err)}`);
      },
    );
    const ports = [await freePort(), await freePort()];
    const names = ['hs1.test', 'hs2.test'];
    const destinations = JSON.stringify({
      [names[0]]: `http://127.0.0.1:${ports[0]}`,
      [names[1]]: `http://127.0.0.1:${ports[1]}`,
    });
    for (let i = 0; i < 2; i++) {
      const tag = `lattice_fed_${id}_${i + 1}`;
      servers.push({
        name: names[i],
        url: `http://127.0.0.1:${ports[i]}`,
        process: null,
        output: [],
        env: {
          SERVER_NAME: names[i],
          BIND_ADDRESS: '127.0.0.1',
          PORT: String(ports[i]),
          PUBLIC_BASEURL: `http://127.0.0.1:${ports[i]}`,
          DATABASE_URL: `${PG_BASE}/${tag}`,
          REDIS_URL,
          REDIS_KEY_PREFIX: tag,
          SIGNING_KEY_PATH: join(mkdtempSync(join(tmpdir(), 'lattice-fed-key-')), 'signing.key'),
          ENABLE_REGISTRATION: 'true',
          FEDERATION_DESTINATIONS: destinations,
          LOG_LEVEL: 'warn',
        },
      });
    }
    [hs1, hs2] = servers;
    await Promise.all(servers.map(start));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map(stop));
    for (const s of servers) await dropTestState(buildConfig(s.env));
  }, 30_000);

  it('fetches, refreshes and keeps a remote user’s devices', async () => {
    // A user on hs2 with keys on one device.
    const carol = await register(hs2.url, 'carol');
    const carolAuth = { Authorization: `Bearer ${carol.access_token}` };
    const up = await request(hs2.url)
      .post('/_matrix/client/v3/keys/upload')
      .set(carolAuth)
      .send({ device_keys: deviceKeys(carol.user_id, carol.device_id) });
    expect(up.status).toBe(200);

    // An admin on hs1 (promoted by SQL, as the docs say).
    const admin = await register(hs1.url, 'admin');
    const db = new pg.Client({ connectionString: hs1.env.DATABASE_URL });
    await db.connect();
    await db.query(`UPDATE userapi_accounts SET account_type = 3 WHERE localpart = 'admin'`);
    await db.end();
    const adminAuth = { Authorization: `Bearer ${admin.access_token}` };
    const refresh = () =>
      request(hs1.url)
        .post(`/_dendrite/admin/refreshDevices/${encodeURIComponent(carol.user_id)}`)
        .set(adminAuth);
    const query = async () => {
      const res = await request(hs1.url)
        .post('/_matrix/client/v3/keys/query')
        .set(adminAuth)
        .send({ device_keys: { [carol.user_id]: [] } });
      expect(res.status).toBe(200);
      expectMatchesSpec(res, 'api/client-server/keys.yaml', 'post', '/keys/query');
      return res.body as {
        device_keys: Record<string, Record<string, unknown>>;
        failures: Record<string, unknown>;
      };
    };

    const first = await refresh();
    expect([first.status, first.body]).toEqual([200, {}]);
    const q1 = await query();
    expect(q1.failures).toEqual({});
    expect(q1.device_keys[carol.user_id]).toEqual({
      [carol.device_id]: { ...deviceKeys(carol.user_id, carol.device_id), unsigned: {} },
    });

    // A second device on hs2 appears after another refresh.
    const login = await request(hs2.url)
      .post('/_matrix/client/v3/login')
      .send({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: 'carol' },
        password: 'correct horse battery',
        initial_device_display_name: 'Carol laptop',
      });
    expect(login.status).toBe(200);
    const laptop = login.body.device_id as string;
    await request(hs2.url)
      .post('/_matrix/client/v3/keys/upload')
      .set({ Authorization: `Bearer ${login.body.access_token}` })
      .send({ device_keys: deviceKeys(carol.user_id, laptop) })
      .expect(200);
    expect((await refresh()).status).toBe(200);
    const q2 = await query();
    expect(Object.keys(q2.device_keys[carol.user_id]).sort()).toEqual([carol.device_id, laptop].sort());
    expect(q2.device_keys[carol.user_id][laptop]).toEqual({
      ...deviceKeys(carol.user_id, laptop),
      unsigned: { device_display_name: 'Carol laptop' },
    });

    // hs2 goes away: refreshDevices reports it, and the cached devices stay (answered without asking hs2).
    await stop(hs2);
    const failed = await refresh();
    expect(failed.status).toBe(502);
    expect(failed.body.errcode).toBe('M_UNKNOWN');
    expect(failed.body.error).toContain('hs2.test');
    const q3 = await query();
    expect(q3.failures).toEqual({});
    expect(q3.device_keys[carol.user_id]).toEqual(q2.device_keys[carol.user_id]);
  });
});
