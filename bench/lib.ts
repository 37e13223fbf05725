import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

/** dist/ of this build: benchmarks run the compiled server and tools as separate processes. */
export const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'bench-secret';
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- benchmark code reads whatever the server answers
type AnyJson = any;

export interface BenchFigure {
  name: string;
  value: string;
  target?: string;
  ok?: boolean;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const ms = (v: number) => `${v.toFixed(1)} ms`;

async function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

/** A server (and its database) started for one benchmark, with helpers to talk to it. */
export class BenchServer {
  private procs: ChildProcess[] = [];
  readonly env: Record<string, string>;
  baseUrl = '';

  constructor(name: string) {
    const id = `${name}_${Date.now()}_${randomBytes(3).toString('hex')}`;
    this.env = {
      SERVER_NAME: 'bench.test',
      DATABASE_URL: `${PG}/lattice_bench_${id}`,
      REDIS_URL: REDIS,
      REDIS_KEY_PREFIX: `lattice_bench_${id}`,
      SIGNING_KEY_PATH: join(mkdtempSync(join(tmpdir(), 'lattice-bench-')), 'signing.key'),
      REGISTRATION_SHARED_SECRET: SECRET,
      ENABLE_REGISTRATION: 'true',
      LOG_LEVEL: 'warn',
    };
  }

  /** Runs `npm run seed` (the compiled tool) against this server's database. */
  async seed(args: string[]): Promise<string> {
    return this.run(join(DIST, 'src/cli/seed.js'), args);
  }

  async start(extra: Record<string, string> = {}): Promise<void> {
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under load.
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const proc = spawn(process.execPath, [...nodeArgs, join(DIST, 'src/main.js')], {
      env: { ...process.env, ...this.env, PORT: String(port), ...extra },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.procs.push(proc);
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${this.baseUrl}/health`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('server did not start');
  }

  async request(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; body: AnyJson }> {
    // node:http with keep-alive rather than fetch: the client shares the machine's two cores with
    // the server and PostgreSQL, and fetch costs it about twice the CPU per request.
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolveRes, reject) => {
      const req = httpRequest(
        `${this.baseUrl}${path}`,
        {
          method,
          agent,
          headers: {
            'content-type': 'application/json',
            ...(payload !== undefined ? { 'content-length': Buffer.byteLength(payload) } : {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolveRes({
                status: res.statusCode ?? 0,
                body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
              });
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Registers an admin through shared-secret registration; returns its access token. */
  async admin(username = 'benchadmin'): Promise<string> {
    const { body } = await this.request('GET', '/_synapse/admin/v1/register');
    const password = 'bench-password';
    const mac = createHmac('sha1', SECRET)
      .update([body.nonce, username, password, 'admin'].join('\0'))
      .digest('hex');
    const res = await this.request('POST', '/_synapse/admin/v1/register', undefined, {
      nonce: body.nonce,
      username,
      password,
      admin: true,
      mac,
    });
    return res.body.access_token;
  }

  async login(user: string, password: string): Promise<string> {
    const res = await this.request('POST', '/_matrix/client/v3/login', undefined, {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user },
      password,
    });
    if (res.status !== 200) throw new Error(`login ${user}: ${JSON.stringify(res.body)}`);
    return res.body.access_token;
  }

  async sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.kill('SIGTERM');
    await Promise.all(
      this.procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
    );
    const admin = new pg.Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    await admin.query(
      `DROP DATABASE IF EXISTS "${new URL(this.env.DATABASE_URL).pathname.slice(1)}" WITH (FORCE)`,
    );
    await admin.end();
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${this.env.REDIS_KEY_PREFIX}:*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    await redis.quit();
  }

  private run(script: string, args: string[]): Promise<string> {
    return new Promise((resolveRun, reject) => {
      const proc = spawn(process.execPath, [script, ...args], {
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        process.stdout.write(`    ${d.toString().trimEnd().split('\n').join('\n    ')}\n`);
      });
      proc.on('exit', (code) =>
        code === 0 ? resolveRun(out) : reject(new Error(`${script} exited with ${code}`)),
      );
    });
  }
}

/** Runs `worker` on `concurrency` loops until `stop()` resolves; returns each call's latency in ms. */
export async function loadLoop(
  concurrency: number,
  worker: (i: number) => Promise<void>,
  until: Promise<unknown>,
): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  void until.then(() => (done = true));
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (!done) {
        const t0 = performance.now();
        await worker(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return latencies;
}
