import pg from 'pg';
import { Redis } from 'ioredis';
import type { AppConfig } from './config/app-config.js';
import { ensureDatabase, splitDatabaseUrl } from './database/ensure-database.js';

export class PreflightError extends Error {}

const CONNECT_TIMEOUT_MS = 3000;
/** PostgreSQL's SQLSTATE for "database does not exist". */
const INVALID_CATALOG_NAME = '3D000';

/**
 * Checks PostgreSQL and Redis before Nest boots, so a missing service gives one clear line (which
 * service, where, how to start it) instead of a retry loop and a stack trace. Creates the database
 * when it does not exist, only once both services answered, so a failed start leaves nothing behind.
 */
export async function preflight(config: AppConfig): Promise<void> {
  const databaseExists = await checkPostgres(config.DATABASE_URL);
  await checkRedis(config.REDIS_URL);
  if (!databaseExists) {
    const { database, address } = splitDatabaseUrl(config.DATABASE_URL);
    try {
      await ensureDatabase(config.DATABASE_URL);
    } catch (err) {
      throw new PreflightError(
        `PostgreSQL at ${address} has no database "${database}" and it could not be created (${describe(err)}): create it, or give the user in DATABASE_URL the CREATEDB right`,
      );
    }
  }
}

/** Connects to the configured database; false when the server answered that it does not exist. */
async function checkPostgres(databaseUrl: string): Promise<boolean> {
  const { address } = splitDatabaseUrl(databaseUrl);
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === INVALID_CATALOG_NAME) return false;
    if (isServerRefusal(err)) {
      throw new PreflightError(
        `PostgreSQL at ${address} refused the connection (${describe(err)}): check the user, password and database in DATABASE_URL`,
      );
    }
    throw new PreflightError(
      `PostgreSQL is not reachable at ${address} (${describe(err)}): start it (e.g. "pg_ctlcluster 15 main start" or "docker compose up -d postgres") or set DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(redisUrl: string): Promise<void> {
  const url = new URL(redisUrl);
  const address = `${url.hostname}:${url.port || '6379'}`;
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  // connect() itself only says "Connection is closed"; the cause arrives as an 'error' event.
  let cause: unknown;
  redis.on('error', (err) => {
    cause ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const reason = cause ?? err;
    if (/^(NOAUTH|WRONGPASS|ERR AUTH|NOPERM)/.test((reason as Error).message ?? '')) {
      throw new PreflightError(
        `Redis at ${address} refused the connection (${describe(reason)}): check the user and password in REDIS_URL`,
      );
    }
    throw new PreflightError(
      `Redis is not reachable at ${address} (${describe(reason)}): start it (e.g. "redis-server --daemonize yes" or "docker compose up -d redis") or set REDIS_URL`,
    );
  } finally {
    redis.disconnect();
  }
}

/** A server that answered with an SQLSTATE (bad password, no such role, ...) is reachable but refuses us. */
function isServerRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E');
}

/** The short reason: a system error code (ECONNREFUSED) or the server's message, on one line. */
function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const text =
    typeof e.code === 'string' && e.code.startsWith('E')
      ? e.code
      : typeof e.message === 'string' && e.message
        ? e.message
        : String(err);
  return text.replace(/\s+/g, ' ').trim();
}
