import type { DataSource } from 'typeorm';

/** Any fixed 64-bit number works; this one spells "lattice" in ASCII. */
const MIGRATION_LOCK_KEY = '30506450281915237';

/**
 * Runs pending migrations while holding a session advisory lock, so processes that boot together
 * apply each migration exactly once: the second waits, then finds nothing left to do.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Poll rather than block in pg_advisory_lock: a session blocked inside a statement holds a
    // snapshot, and a migration running CREATE INDEX CONCURRENTLY would wait for it forever.
    for (;;) {
      const [{ locked }] = (await runner.query(
        `SELECT pg_try_advisory_lock(${MIGRATION_LOCK_KEY}::bigint) AS locked`,
      )) as {
        locked: boolean;
      }[];
      if (locked) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`).catch(() => undefined);
    await runner.release();
  }
}
