import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/**
 * TypeORM is used for the connection pool, transactions and migrations; repositories write SQL
 * themselves (no entities), so the queries a reviewer reads are the queries PostgreSQL runs.
 */
export function dataSourceOptions(databaseUrl: string, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'lattice_migrations',
    migrationsTransactionMode: 'each',
    entities: [],
    migrations: MIGRATIONS,
    logging: ['error'],
    extra: { max: poolSize, application_name: 'lattice' },
  };
}
