import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Stored /sync filters (POST /user/{userId}/filter). */
export class Sync1764250000000 implements MigrationInterface {
  name = 'Sync1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sync_filters (
        filter_id  BIGSERIAL PRIMARY KEY,
        user_id    TEXT  NOT NULL,
        filter     JSONB NOT NULL
      )`);
    await q.query(`CREATE INDEX sync_filters_user_idx ON sync_filters (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sync_filters`);
  }
}
