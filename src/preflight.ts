import pg from 'pg';
import { Redis } from 'ioredis';
import type { AppConfig } from './config/app-config.js';
import { ensureDatabase, splitDatabaseUrl } from './database/ensure-database.js';

export class PreflightError extends Error {}

/**
 * Checks PostgreSQL and Redis before Nest boots, so a missing service gives one clear line (which
 * service, where, how to start it) instead of a retry loop and a stack trace. Creates the database
 * when it does not exist.
 */
export async function preflight(config: AppConfig): Promise<void> {
  const { address: pgAddress, adminUrl } = splitDatabaseUrl(config.DATABASE_URL);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (err) {
    throw new PreflightError(
      `PostgreSQL is not reachable at ${pgAddress} (${describe(err)}): start it (e.g. "pg_ctlcluster 15 main start" or "docker compose up -d postgres") or set DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  await ensureDatabase(config.DATABASE_URL);

  const url = new URL(config.REDIS_URL);
  const redisAddress = `${url.hostname}:${url.port || '6379'}`;
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new PreflightError(
      `Redis is not reachable at ${redisAddress} (${describe(err)}): start it (e.g. "redis-server --daemonize yes" or "docker compose up -d redis") or set REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ?? e.message ?? String(err);
}
