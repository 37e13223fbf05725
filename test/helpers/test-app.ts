import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import request from 'supertest';
import { buildConfig, type AppConfig } from '../../src/config/app-config.js';
import { createHttpApp } from '../../src/create-app.js';
import { ensureDatabase } from '../../src/database/ensure-database.js';
import { registrationMac } from '../../src/admin/services/shared-secret.js';

export const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const SHARED_SECRET = 'test-shared-secret';

export interface LogLine {
  level: number;
  msg: string;
  context?: string;
  [key: string]: unknown;
}

/** Log lines captured from the app (pino JSON), for tests that assert on what an operator would read. */
export class LogCapture extends Writable {
  readonly lines: LogLine[] = [];

  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not JSON: ignore
      }
    }
    done();
  }

  messages(): string[] {
    return this.lines.map((l) => l.msg);
  }
}

export interface TestUser {
  userId: string;
  localpart: string;
  accessToken: string;
  deviceId: string;
}

/** A fresh database and Redis namespace per test file, so suites run in any order and in parallel. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const keyDir = mkdtempSync(join(tmpdir(), 'lattice-key-'));
  return {
    SERVER_NAME: 'test',
    DATABASE_URL: `${PG_BASE}/lattice_test_${id}`,
    REDIS_URL,
    REDIS_KEY_PREFIX: `lattice_test_${id}`,
    SIGNING_KEY_PATH: join(keyDir, 'signing.key'),
    ENABLE_REGISTRATION: 'true',
    REGISTRATION_SHARED_SECRET: SHARED_SECRET,
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

export class TestApp {
  private constructor(
    readonly app: INestApplication,
    readonly config: AppConfig,
    readonly logs: LogCapture,
    readonly baseUrl: string,
    readonly pg: pg.Pool,
  ) {}

  static async start(overrides: Record<string, string> = {}, env?: Record<string, string>): Promise<TestApp> {
    const config = buildConfig(env ?? testEnvironment(overrides));
    await ensureDatabase(config.DATABASE_URL);
    const logs = new LogCapture();
    const app = await createHttpApp(config, { logStream: logs });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
    // pool.end() resolves before its sockets close; the database drop that follows (WITH FORCE) can
    // then terminate a closing client, and an unhandled pool 'error' would fail whatever test runs next.
    pool.on('error', () => undefined);
    return new TestApp(app, config, logs, `http://127.0.0.1:${port}`, pool);
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  get serverName(): string {
    return this.config.SERVER_NAME;
  }

  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pg.query(text, params)).rows as T[];
  }

  /** Registers a user through the public UIA flow (m.login.dummy). */
  async register(localpart: string, password = 'correct horse battery'): Promise<TestUser> {
    const first = await this.http.post('/_matrix/client/v3/register').send({ username: localpart, password });
    if (first.status !== 401)
      throw new Error(`register ${localpart}: expected 401, got ${first.status} ${first.text}`);
    const res = await this.http
      .post('/_matrix/client/v3/register')
      .send({ username: localpart, password, auth: { type: 'm.login.dummy', session: first.body.session } });
    if (res.status !== 200) throw new Error(`register ${localpart}: ${res.status} ${res.text}`);
    return {
      userId: res.body.user_id,
      localpart,
      accessToken: res.body.access_token,
      deviceId: res.body.device_id,
    };
  }

  /** Registers a user and promotes them the way the docs tell an operator to: by SQL. */
  async registerAdmin(localpart: string): Promise<TestUser> {
    const user = await this.register(localpart);
    await this.sql(`UPDATE userapi_accounts SET account_type = 3 WHERE localpart = $1`, [localpart]);
    return user;
  }

  /** Shared-secret registration as an external tool would do it. */
  async registerWithSecret(username: string, password: string, admin = false, displayname?: string) {
    const { body } = await this.http.get('/_synapse/admin/v1/register');
    const mac = registrationMac(SHARED_SECRET, body.nonce, username, password, admin);
    return this.http
      .post('/_synapse/admin/v1/register')
      .send({ nonce: body.nonce, username, password, admin, mac, displayname });
  }

  /** Stops this instance but keeps its database and Redis state (a second instance on shared state). */
  async stop(): Promise<void> {
    await this.app.close();
    await this.pg.end();
  }

  async close(): Promise<void> {
    await this.stop();
    await dropTestState(this.config);
  }
}

/** Drops a test database and its Redis keys. */
export async function dropTestState(config: AppConfig): Promise<void> {
  const db = new URL(config.DATABASE_URL).pathname.slice(1);
  const admin = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  const redis = new Redis(config.REDIS_URL);
  const keys = await redis.keys(`${config.REDIS_KEY_PREFIX}:*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();
  try {
    rmSync(join(config.SIGNING_KEY_PATH, '..'), { recursive: true, force: true });
  } catch {
    // best effort
  }
}

export const auth = (user: TestUser) => ({ Authorization: `Bearer ${user.accessToken}` });
