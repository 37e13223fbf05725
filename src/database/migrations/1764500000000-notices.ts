import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Server notices: each user's notices room. The primary key on the user is what keeps it to one
 * room per user; a room purged or abandoned by the notices user is replaced by updating the row.
 */
export class Notices1764500000000 implements MigrationInterface {
  name = 'Notices1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE server_notice_rooms (
        user_id     TEXT   PRIMARY KEY,
        room_id     TEXT   NOT NULL,
        created_ts  BIGINT NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE server_notice_rooms`);
  }
}
