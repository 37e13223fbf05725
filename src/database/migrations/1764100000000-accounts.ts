import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Accounts, devices (hashed access tokens), profiles, account data, and the shared sync stream sequence. */
export class Accounts1764100000000 implements MigrationInterface {
  name = 'Accounts1764100000000';

  async up(q: QueryRunner): Promise<void> {
    // One position sequence for every stream /sync reads (events, account data, receipts, ...).
    await q.query(`CREATE SEQUENCE lattice_stream_seq`);

    await q.query(`
      CREATE TABLE userapi_accounts (
        localpart       TEXT     NOT NULL,
        server_name     TEXT     NOT NULL,
        created_ts      BIGINT   NOT NULL,
        password_hash   TEXT,
        appservice_id   TEXT,
        is_deactivated  BOOLEAN  NOT NULL DEFAULT FALSE,
        -- 1 user, 2 guest, 3 admin, 4 appservice (Dendrite's values; promotion is by SQL)
        account_type    SMALLINT NOT NULL DEFAULT 1 CHECK (account_type IN (1, 2, 3, 4)),
        PRIMARY KEY (localpart, server_name)
      )`);

    await q.query(`
      CREATE TABLE userapi_devices (
        session_id         BIGSERIAL PRIMARY KEY,
        device_id          TEXT   NOT NULL,
        localpart          TEXT   NOT NULL,
        server_name        TEXT   NOT NULL,
        -- sha256 of the access token: a database leak does not leak sessions
        access_token_hash  BYTEA  NOT NULL UNIQUE,
        created_ts         BIGINT NOT NULL,
        display_name       TEXT,
        last_seen_ts       BIGINT,
        last_seen_ip       TEXT,
        user_agent         TEXT,
        UNIQUE (localpart, server_name, device_id),
        FOREIGN KEY (localpart, server_name) REFERENCES userapi_accounts (localpart, server_name) ON DELETE CASCADE
      )`);

    await q.query(`
      CREATE TABLE userapi_profiles (
        localpart    TEXT NOT NULL,
        server_name  TEXT NOT NULL,
        display_name TEXT,
        avatar_url   TEXT,
        PRIMARY KEY (localpart, server_name),
        FOREIGN KEY (localpart, server_name) REFERENCES userapi_accounts (localpart, server_name) ON DELETE CASCADE
      )`);

    // room_id '' holds global account data; stream_id orders it for incremental /sync.
    await q.query(`
      CREATE TABLE userapi_account_datas (
        localpart    TEXT   NOT NULL,
        server_name  TEXT   NOT NULL,
        room_id      TEXT   NOT NULL DEFAULT '',
        type         TEXT   NOT NULL,
        content      JSONB  NOT NULL,
        stream_id    BIGINT NOT NULL,
        PRIMARY KEY (localpart, server_name, room_id, type)
      )`);
    await q.query(
      `CREATE INDEX userapi_account_datas_stream_idx ON userapi_account_datas (localpart, server_name, stream_id)`,
    );
    await q.query(
      `CREATE INDEX userapi_account_datas_room_idx ON userapi_account_datas (room_id) WHERE room_id <> ''`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE userapi_account_datas`);
    await q.query(`DROP TABLE userapi_profiles`);
    await q.query(`DROP TABLE userapi_devices`);
    await q.query(`DROP TABLE userapi_accounts`);
    await q.query(`DROP SEQUENCE lattice_stream_seq`);
  }
}
