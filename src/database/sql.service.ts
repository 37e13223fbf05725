import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/** What a repository method runs its SQL on: the pool, or a transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  one<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T | null>;
  /** Runs a write; returns the number of rows it touched. */
  exec(text: string, params?: unknown[]): Promise<number>;
}

class ClientQueryable implements Queryable {
  constructor(private readonly client: Pool | PoolClient) {}

  async query<T>(text: string, params?: unknown[]): Promise<T[]> {
    return (await this.client.query(text, params)).rows as T[];
  }

  async one<T>(text: string, params?: unknown[]): Promise<T | null> {
    return ((await this.client.query(text, params)).rows[0] as T | undefined) ?? null;
  }

  async exec(text: string, params?: unknown[]): Promise<number> {
    return (await this.client.query(text, params)).rowCount ?? 0;
  }
}

export type Tx = Queryable;

/**
 * SQL access for repositories: the pg pool behind TypeORM's DataSource, without the ORM layer,
 * so repositories hold plain SQL and transactions are explicit.
 */
@Injectable()
export class SqlService extends ClientQueryable {
  readonly pool: Pool;

  constructor(@InjectDataSource() dataSource: DataSource) {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    super(pool);
    this.pool = pool;
  }

  /** Runs fn in one transaction (rolled back if it throws). */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new ClientQueryable(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
