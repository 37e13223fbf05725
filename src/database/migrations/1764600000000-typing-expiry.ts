import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Typing expiry: every API process looks for typing notifications whose timeout has passed (to
 * give their end a stream position and wake /sync), so that lookup must be an index probe. Rows
 * with expires_ts = 0 are "not typing" and never expire again.
 */
export class TypingExpiry1764600000000 implements MigrationInterface {
  name = 'TypingExpiry1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX room_typing_expiry_idx ON room_typing (expires_ts) WHERE expires_ts > 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX room_typing_expiry_idx`);
  }
}
