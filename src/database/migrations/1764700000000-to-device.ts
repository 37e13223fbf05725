import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Send-to-device messages (end-to-end encryption's key sharing): one row per target device, with
 * a position in the one stream, kept until the device's client acknowledges it by syncing on from a
 * token past it. Sends are idempotent per (sender, device, transaction ID). Everything of a device
 * goes with it when it is deleted.
 */
export class ToDevice1764700000000 implements MigrationInterface {
  name = 'ToDevice1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE to_device_messages (
        stream_pos  BIGINT PRIMARY KEY,
        user_id     TEXT   NOT NULL,
        device_id   TEXT   NOT NULL,
        sender      TEXT   NOT NULL,
        type        TEXT   NOT NULL,
        -- the message content as JSON text (kept as sent, NUL escapes included)
        content     TEXT   NOT NULL
      )`);
    await q.query(
      `CREATE INDEX to_device_messages_target_idx ON to_device_messages (user_id, device_id, stream_pos)`,
    );
    // A /sync that could not carry all of a device's messages (at most 100 go in one) remembers here
    // how far it got: syncing on from its next_batch acknowledges only those.
    await q.query(`
      CREATE TABLE to_device_capped (
        user_id         TEXT   NOT NULL,
        device_id       TEXT   NOT NULL,
        token_pos       BIGINT NOT NULL,
        delivered_upto  BIGINT NOT NULL,
        PRIMARY KEY (user_id, device_id, token_pos)
      )`);
    await q.query(`
      CREATE TABLE to_device_txns (
        sender      TEXT   NOT NULL,
        device_id   TEXT   NOT NULL,
        txn_id      TEXT   NOT NULL,
        created_ts  BIGINT NOT NULL,
        PRIMARY KEY (sender, device_id, txn_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE to_device_txns`);
    await q.query(`DROP TABLE to_device_capped`);
    await q.query(`DROP TABLE to_device_messages`);
  }
}
