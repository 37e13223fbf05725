import pg from 'pg';

/** Parses a postgres URL into the database name and a URL for the maintenance database. */
export function splitDatabaseUrl(databaseUrl: string): {
  database: string;
  adminUrl: string;
  address: string;
} {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  return {
    database,
    adminUrl: admin.toString(),
    address: `${url.hostname || 'localhost'}:${url.port || '5432'}`,
  };
}

/** Creates the configured database when it does not exist yet. Safe when several processes race. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const { database, adminUrl } = splitDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
      } catch (err) {
        // 42P04 duplicate_database / 23505: another process created it between our check and create.
        const code = (err as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw err;
      }
    }
  } finally {
    await client.end();
  }
}
