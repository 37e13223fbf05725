import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import request from 'supertest';
import { buildConfig, type AppConfig } from '../src/config/app-config.js';
import { createHttpApp, createWorkerApp } from '../src/create-app.js';
import { ensureDatabase } from '../src/database/ensure-database.js';
import { MIGRATIONS } from '../src/database/migrations/index.js';
import { JobService } from '../src/jobs/job.service.js';
import { PreflightError, preflight } from '../src/preflight.js';
import { ServerProcess, compileSources, freePort, runScript, scratchDir } from './helpers/compiled-app.js';
import { waitFor } from './helpers/wait.js';
import { LogCapture, PG_BASE, REDIS_URL, dropTestState, testEnvironment } from './helpers/test-app.js';

async function databaseExists(url: string): Promise<boolean> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('boot: migrations, roles and preflight in-process', () => {
  const configs: AppConfig[] = [];
  /** A fresh database and Redis namespace; cleaned up through the real services even when `overrides` point elsewhere. */
  const fresh = (overrides: Record<string, string> = {}) => {
    const env = testEnvironment();
    configs.push(buildConfig(env));
    return buildConfig({ ...env, ...overrides });
  };
  afterAll(async () => {
    for (const c of configs) await dropTestState(c);
  });

  it('two servers starting at once on one fresh database apply each migration exactly once', async () => {
    const config = fresh();
    // Creating the database races too.
    await Promise.all([ensureDatabase(config.DATABASE_URL), ensureDatabase(config.DATABASE_URL)]);
    // Without the advisory lock the loser fails on "relation already exists" (or records a migration twice).
    const apps = await Promise.all([1, 2].map(() => createHttpApp(config, { logStream: new LogCapture() })));
    try {
      const rows = await query<{ name: string }>(
        config.DATABASE_URL,
        'SELECT name FROM lattice_migrations ORDER BY id',
      );
      expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => new m().name));
      for (const app of apps) expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it('runs job workers in roles all and worker, not in role api', async () => {
    const base = fresh();
    await ensureDatabase(base.DATABASE_URL);
    const env = testEnvironment();
    const same = {
      DATABASE_URL: base.DATABASE_URL,
      REDIS_KEY_PREFIX: base.REDIS_KEY_PREFIX,
      SIGNING_KEY_PATH: base.SIGNING_KEY_PATH,
    };
    const started: (INestApplication | INestApplicationContext)[] = [];
    try {
      const api = await createHttpApp(buildConfig({ ...env, ...same, ROLE: 'api' }), {
        logStream: new LogCapture(),
      });
      started.push(api);
      // BullMQ lists the worker connections of a queue from Redis: what every process of the server sees.
      const queue = api.get(JobService).queue('admin');
      const workers = async () => (await queue.getWorkers()).length;
      expect(await workers()).toBe(0);

      started.push(
        await createWorkerApp(buildConfig({ ...env, ...same, ROLE: 'worker' }), {
          logStream: new LogCapture(),
        }),
      );
      await waitFor(async () => (await workers()) === 1, 'the worker process to connect its worker');

      const all = await createHttpApp(buildConfig({ ...env, ...same, ROLE: 'all' }), {
        logStream: new LogCapture(),
      });
      started.push(all);
      // Its workers wait for its port, so a process that cannot listen exits without having taken a
      // job; a second is ample for a worker that did start to show up.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await workers()).toBe(1);
      await all.listen(0, '127.0.0.1');
      await waitFor(async () => (await workers()) === 2, 'the all-in-one process to connect its worker');
      // The api process accepted jobs (it owns the queue) but still runs none.
      expect(await workers()).toBe(2);
    } finally {
      for (const app of started) await app.close();
    }
  });

  it('generates the signing key on first start and keeps it afterwards', async () => {
    const config = fresh();
    await ensureDatabase(config.DATABASE_URL);
    expect(existsSync(config.SIGNING_KEY_PATH)).toBe(false);
    const first = await createHttpApp(config, { logStream: new LogCapture() });
    await first.close();
    const key = readFileSync(config.SIGNING_KEY_PATH, 'utf8');
    expect(key).toMatch(/^ed25519 a_[A-Za-z0-9_]+ [A-Za-z0-9+/]{43}\n$/);
    // Only the server may read its private key.
    expect(statSync(config.SIGNING_KEY_PATH).mode & 0o077).toBe(0);
    const second = await createHttpApp(config, { logStream: new LogCapture() });
    await second.close();
    expect(readFileSync(config.SIGNING_KEY_PATH, 'utf8')).toBe(key);
  });

  it('preflight creates a missing database once both services answer', async () => {
    const config = fresh();
    expect(await databaseExists(config.DATABASE_URL)).toBe(false);
    await preflight(config);
    expect(await databaseExists(config.DATABASE_URL)).toBe(true);
    // And is happy when it exists.
    await preflight(config);
  });

  it.each([
    [
      'PostgreSQL refusing connections',
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/lattice' },
      /^PostgreSQL is not reachable at 127\.0\.0\.1:1 \(ECONNREFUSED\): start it .*docker compose up -d postgres.*DATABASE_URL$/,
    ],
    [
      'an unknown PostgreSQL host',
      { DATABASE_URL: 'postgres://postgres@no-such-host.invalid:5432/lattice' },
      /^PostgreSQL is not reachable at no-such-host\.invalid:5432 \((ENOTFOUND|EAI_AGAIN)\)/,
    ],
    [
      'a PostgreSQL role that does not exist',
      { DATABASE_URL: `${PG_BASE.replace('postgres@', 'no_such_role@')}/lattice` },
      /^PostgreSQL at 127\.0\.0\.1:5432 refused the connection \(.*no_such_role.*\): check .* DATABASE_URL$/,
    ],
    [
      'Redis refusing connections',
      { REDIS_URL: 'redis://127.0.0.1:1' },
      /^Redis is not reachable at 127\.0\.0\.1:1 \(ECONNREFUSED\): start it .*docker compose up -d redis.*REDIS_URL$/,
    ],
  ])('preflight names the service and address for %s', async (_case, overrides, message) => {
    const config = fresh(overrides);
    const error = await preflight(config).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('does not create the database when Redis is down', async () => {
    const config = fresh({ REDIS_URL: 'redis://127.0.0.1:1' });
    await expect(preflight(config)).rejects.toThrow(/Redis/);
    expect(await databaseExists(config.DATABASE_URL)).toBe(false);
  });
});

describe('boot: the real server process', () => {
  let build: Awaited<ReturnType<typeof compileSources>>;
  const configs: AppConfig[] = [];
  beforeAll(async () => {
    build = await compileSources();
  });
  afterAll(async () => {
    build.remove();
    for (const c of configs) await dropTestState(c);
  });

  const main = () => join(build.dir, 'src', 'main.js');

  it.each([
    [
      'PostgreSQL',
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/lattice' },
      /^PostgreSQL is not reachable at 127\.0\.0\.1:1 /,
    ],
    ['Redis', { REDIS_URL: 'redis://127.0.0.1:1' }, /^Redis is not reachable at 127\.0\.0\.1:1 /],
  ])('exits 1 with one clear line when %s is unreachable', async (_service, overrides, line) => {
    const env = testEnvironment();
    configs.push(buildConfig(env));
    const result = await runScript(main(), [], { env: { ...env, ...overrides } });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it.each([
    [
      'a port another process listens on',
      '127.0.0.1',
      (port: number) =>
        `Cannot listen on 127.0.0.1:${port} (EADDRINUSE): another process (another Lattice?) already uses this port; stop it, or set PORT to a free port`,
    ],
    [
      // 192.0.2.0/24 is reserved for documentation: no machine has such an address.
      'an address of no interface',
      '192.0.2.1',
      (port: number) =>
        `Cannot listen on 192.0.2.1:${port} (EADDRNOTAVAIL): 192.0.2.1 is not an address of this machine; set BIND_ADDRESS (127.0.0.1 for this machine only, 0.0.0.0 for every interface)`,
    ],
  ])('exits 1 with one clear line when it cannot listen on %s', async (_case, bindAddress, line) => {
    const env = testEnvironment();
    configs.push(buildConfig(env));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = await runScript(main(), [], {
        env: { ...env, PORT: String(port), BIND_ADDRESS: bindAddress },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`${line(port)}\n`);
      // Stopped before the application booted: nothing logged.
      expect(result.stdout).toBe('');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('exits 1 listing what is wrong with the configuration', async () => {
    const result = await runScript(main(), [], { env: { PORT: 'eighty', ROLE: 'boss' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('ROLE must be one of all, api, worker');
  });

  it('starts with no configuration file: creates the database, migrates, generates its key, logs where it listens', async () => {
    const port = await freePort();
    const cwd = scratchDir();
    // Everything else at its default; the database and Redis namespace are this test's own.
    const { DATABASE_URL, REDIS_KEY_PREFIX } = testEnvironment();
    const env = { DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, PORT: String(port), LOG_LEVEL: 'info' };
    configs.push(buildConfig({ ...env, SIGNING_KEY_PATH: join(cwd, 'data', 'signing.key') }));
    expect(await databaseExists(DATABASE_URL)).toBe(false);

    const server = ServerProcess.start(main(), env, cwd);
    try {
      await server.waitHealthy(`http://127.0.0.1:${port}`);
      const output = server.output.join('');
      expect(output).toContain(`listening on http://127.0.0.1:${port}`);
      expect(output).toContain('Applied migrations');
      expect(await databaseExists(DATABASE_URL)).toBe(true);
      expect(readFileSync(join(cwd, 'data', 'signing.key'), 'utf8')).toMatch(/^ed25519 a_\w+ \S{43}\n$/);
      const versions = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
      expect(versions.status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
