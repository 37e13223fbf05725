import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * End-to-end keys (the key server inside the accounts module: device keys of local users and the
 * cached device lists of remote users, one-time and fallback keys, cross-signing keys, the
 * device-list change stream) and federation state (other servers' signing keys).
 */
export class KeysAndFederation1764300000000 implements MigrationInterface {
  name = 'KeysAndFederation1764300000000';

  async up(q: QueryRunner): Promise<void> {
    // Local devices' keys live here too; they are only served while the userapi_devices row exists,
    // so keys a crash left behind after a device deletion are never visible.
    await q.query(`
      CREATE TABLE keyserver_device_keys (
        user_id       TEXT   NOT NULL,
        device_id     TEXT   NOT NULL,
        key_json      JSONB,
        -- remote devices only: local display names are read from userapi_devices
        display_name  TEXT,
        updated_ts    BIGINT NOT NULL,
        PRIMARY KEY (user_id, device_id)
      )`);

    await q.query(`
      CREATE TABLE keyserver_one_time_keys (
        user_id    TEXT      NOT NULL,
        device_id  TEXT      NOT NULL,
        algorithm  TEXT      NOT NULL,
        key_id     TEXT      NOT NULL,
        key_json   JSONB     NOT NULL,
        -- claims hand keys out in upload order
        seq        BIGSERIAL NOT NULL,
        PRIMARY KEY (user_id, device_id, algorithm, key_id)
      )`);
    await q.query(
      `CREATE INDEX keyserver_one_time_keys_claim_idx ON keyserver_one_time_keys (user_id, device_id, algorithm, seq)`,
    );

    await q.query(`
      CREATE TABLE keyserver_fallback_keys (
        user_id    TEXT    NOT NULL,
        device_id  TEXT    NOT NULL,
        algorithm  TEXT    NOT NULL,
        key_id     TEXT    NOT NULL,
        key_json   JSONB   NOT NULL,
        used       BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (user_id, device_id, algorithm)
      )`);

    await q.query(`
      CREATE TABLE keyserver_cross_signing_keys (
        user_id   TEXT  NOT NULL,
        key_type  TEXT  NOT NULL CHECK (key_type IN ('master', 'self_signing', 'user_signing')),
        key_json  JSONB NOT NULL,
        PRIMARY KEY (user_id, key_type)
      )`);

    // One row per change of a user's device list (local or cached remote), positioned in the
    // shared sync stream (lattice_next_stream_pos(), allocated last in the writing transaction) so
    // /sync and /keys/changes can ask "who changed between A and B".
    await q.query(`
      CREATE TABLE keyserver_device_list_changes (
        stream_id  BIGINT PRIMARY KEY,
        user_id    TEXT   NOT NULL
      )`);
    await q.query(
      `CREATE INDEX keyserver_device_list_changes_user_idx ON keyserver_device_list_changes (user_id, stream_id)`,
    );

    // Remote users whose device list is cached: the remote stream_id it reflects and whether an
    // m.device_list_update (or a failed chain) made it stale.
    await q.query(`
      CREATE TABLE keyserver_remote_device_lists (
        user_id      TEXT    PRIMARY KEY,
        server_name  TEXT    NOT NULL,
        stream_id    BIGINT,
        is_stale     BOOLEAN NOT NULL DEFAULT FALSE,
        -- a refresh that started before this keeps the list stale (it may have missed the change)
        stale_ts     BIGINT,
        updated_ts   BIGINT  NOT NULL
      )`);
    await q.query(
      `CREATE INDEX keyserver_remote_device_lists_server_idx ON keyserver_remote_device_lists (server_name)`,
    );

    // Other servers' signing keys. expired_ts is set for old_verify_keys (honoured for events only).
    await q.query(`
      CREATE TABLE federation_server_keys (
        server_name     TEXT   NOT NULL,
        key_id          TEXT   NOT NULL,
        verify_key      TEXT   NOT NULL,
        valid_until_ts  BIGINT NOT NULL,
        expired_ts      BIGINT,
        fetched_ts      BIGINT NOT NULL,
        PRIMARY KEY (server_name, key_id)
      )`);

    // The last self-signed key response of each server, re-served (counter-signed) as a notary.
    await q.query(`
      CREATE TABLE federation_server_key_responses (
        server_name     TEXT   PRIMARY KEY,
        response        JSONB  NOT NULL,
        valid_until_ts  BIGINT NOT NULL,
        fetched_ts      BIGINT NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE federation_server_key_responses`);
    await q.query(`DROP TABLE federation_server_keys`);
    await q.query(`DROP TABLE keyserver_remote_device_lists`);
    await q.query(`DROP TABLE keyserver_device_list_changes`);
    await q.query(`DROP TABLE keyserver_cross_signing_keys`);
    await q.query(`DROP TABLE keyserver_fallback_keys`);
    await q.query(`DROP TABLE keyserver_one_time_keys`);
    await q.query(`DROP TABLE keyserver_device_keys`);
  }
}
