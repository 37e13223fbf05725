import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import pg, { type Pool, type PoolClient, type QueryConfig } from 'pg';
import type { DataSource } from 'typeorm';

/** What a repository method runs its SQL on: the pool, or a transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  one<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T | null>;
  /** Runs a write; returns the number of rows it touched. */
  exec(text: string, params?: unknown[]): Promise<number>;
}

const statementNames = new Map<string, string>();

/**
 * Every repository query runs as a named prepared statement (named after a hash of its text), so
 * PostgreSQL parses and plans it once per connection instead of on every call. Repositories keep
 * their SQL in constants, so the set of texts is small and fixed.
 */
function prepared(text: string, values?: unknown[]): QueryConfig {
  let name = statementNames.get(text);
  if (!name) {
    name = 'q_' + createHash('sha1').update(text).digest('hex').slice(0, 20);
    statementNames.set(text, name);
  }
  return { name, text, values };
}

class ClientQueryable implements Queryable {
  constructor(private readonly client: Pool | PoolClient) {}

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    return (await this.client.query(prepared(text, params))).rows as T[];
  }

  async one<T>(text: string, params?: unknown[]): Promise<T | null> {
    return ((await this.client.query(prepared(text, params))).rows[0] as T | undefined) ?? null;
  }

  async exec(text: string, params?: unknown[]): Promise<number> {
    return (await this.client.query(prepared(text, params))).rowCount ?? 0;
  }
}

export type Tx = Queryable;

export interface TransactionOptions {
  /** See transaction(). */
  holdsStreamHead?: boolean;
  /**
   * First statements sent in the same round trip as BEGIN (literal values only, escaped with pg's
   * escapeLiteral); their rows are handed to the transaction's function. Each is a statement of its
   * own, so each reads a fresh snapshot: one may take a lock that the next depends on.
   */
  opening?: string[];
}

/**
 * The COMMIT itself failed (most likely the connection dropped): the transaction may or may not
 * have committed, so whoever would retry it must first find out which.
 */
export class CommitOutcomeUnknownError extends Error {
  constructor(override readonly cause: unknown) {
    super(`The outcome of a commit is unknown: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** Connections for advisory-lock holders (see withAdvisoryLock), per process. */
const LOCK_CONNECTIONS = 8;

/**
 * SQL access for repositories: the pg pool behind TypeORM's DataSource, without the ORM layer,
 * so repositories hold plain SQL and transactions are explicit.
 */
@Injectable()
export class SqlService extends ClientQueryable implements OnApplicationShutdown {
  private readonly logger = new Logger(SqlService.name);
  readonly pool: Pool;
  private readonly derivedPool: Pool;
  /**
   * For single statements that write derived data, which can be rebuilt from the events (the
   * search index): they commit without waiting for the WAL flush. Visible at once like any commit;
   * only a crash of PostgreSQL itself can lose the last few milliseconds of them, and whatever
   * rebuilds that data (the search catch-up) commits synchronously, which flushes all WAL before
   * it: it can never have moved past a row that was then lost.
   */
  readonly derived: Queryable;
  private readonly lockPool: Pool;

  constructor(@InjectDataSource() dataSource: DataSource) {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    super(pool);
    this.pool = pool;
    this.derivedPool = new pg.Pool({
      // The same server and credentials as the main pool, whatever form they were given in.
      ...(pool as unknown as { options: pg.PoolConfig }).options,
      max: 4,
      application_name: 'lattice-derived',
      options: '-c synchronous_commit=off',
    });
    // An idle connection that breaks is replaced on the next query; unhandled, it would end the process.
    this.derivedPool.on('error', (err) => this.logger.warn(`Derived-data connection lost: ${err.message}`));
    this.derived = new ClientQueryable(this.derivedPool);
    this.lockPool = new pg.Pool({
      ...(pool as unknown as { options: pg.PoolConfig }).options,
      max: LOCK_CONNECTIONS,
      application_name: 'lattice-locks',
    });
    this.lockPool.on('error', (err) => this.logger.warn(`Lock connection lost: ${err.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.derivedPool.end(), this.lockPool.end()]);
  }

  /**
   * Runs fn while holding a PostgreSQL advisory lock on `key`, so that every process of the
   * deployment takes turns. The lock belongs to a transaction on a connection of its own pool: it is
   * released when fn ends, and also when the process dies. fn does its writes on the main pool,
   * which lock holders therefore never exhaust (as many holders as the main pool has connections,
   * each waiting for one more, would wait forever).
   */
  async withAdvisoryLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.lockPool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [key]);
      const result = await fn();
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs fn in one transaction (rolled back if it throws).
   *
   * `holdsStreamHead`: the transaction allocates stream positions, whose row lock serialises every
   * such writer until it commits. Waiting for the WAL flush while holding it would serialise the
   * flushes too, so these transactions commit asynchronously (the lock is released at once) and
   * then wait for durability outside the lock, where concurrent writers share one flush. Nothing
   * acknowledged can be lost; the cost is that a reader may see a write a few milliseconds before
   * it is on disk, which matters only if PostgreSQL itself crashes in that window.
   */
  async transaction<T>(
    fn: (tx: Tx, opened: Record<string, unknown>[][]) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      const begin = [
        'BEGIN',
        ...(options.holdsStreamHead ? ['SET LOCAL synchronous_commit TO off'] : []),
        ...(options.opening ?? []),
      ];
      // pg answers a multi-statement query with one result per statement, a single one with a result.
      const answer = (await client.query(begin.join('; '))) as unknown;
      const results = (Array.isArray(answer) ? answer : [answer]) as { rows: Record<string, unknown>[] }[];
      const opened = results.slice(begin.length - (options.opening?.length ?? 0)).map((r) => r.rows);
      const result = await fn(new ClientQueryable(client), opened);
      // The durability barrier rides in the same round trip: the statement after COMMIT runs in a
      // transaction of its own that is given an ID and so commits synchronously, and flushing its
      // commit record flushes all WAL before it, ours included.
      try {
        await client.query(options.holdsStreamHead ? 'COMMIT; SELECT txid_current()' : 'COMMIT');
      } catch (err) {
        throw new CommitOutcomeUnknownError(err);
      }
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
