import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rooms, events, state history, memberships, aliases, receipts, typing, and the stream head.
 *
 * Stream positions: every row /sync reads carries a position from lattice_next_stream_pos(),
 * which increments a single-row counter. The counter's row lock is held until the writing
 * transaction commits, so positions become visible in order: a reader that sees head = N knows
 * every row at or below N is committed. (A plain sequence would let position 11 commit before 10
 * and /sync would skip 10.) Writers allocate as late in their transaction as they can.
 */
export class Rooms1764200000000 implements MigrationInterface {
  name = 'Rooms1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE lattice_stream_head (id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id), pos BIGINT NOT NULL)`,
    );
    await q.query(
      `INSERT INTO lattice_stream_head (pos) SELECT COALESCE(MAX(stream_id), 0) FROM userapi_account_datas`,
    );
    await q.query(`
      CREATE FUNCTION lattice_next_stream_pos(n BIGINT DEFAULT 1) RETURNS BIGINT LANGUAGE sql VOLATILE AS $$
        UPDATE lattice_stream_head SET pos = pos + n RETURNING pos
      $$`);
    await q.query(
      `ALTER TABLE userapi_account_datas ALTER COLUMN stream_id SET DEFAULT lattice_next_stream_pos()`,
    );

    await q.query(`
      CREATE TABLE rooms (
        room_id        TEXT    PRIMARY KEY,
        room_version   TEXT    NOT NULL,
        creator        TEXT    NOT NULL,
        created_ts     BIGINT  NOT NULL,
        -- the room's latest event: prev_events and depth of the next one (single-server, linear DAG)
        last_event_id  TEXT,
        last_depth     BIGINT  NOT NULL DEFAULT 0,
        -- published in the public room directory
        is_public      BOOLEAN NOT NULL DEFAULT FALSE,
        -- set by purgeRoom: the room is gone for clients at once; the purge job deletes the rest
        purged_ts      BIGINT
      )`);

    await q.query(`
      CREATE TABLE room_events (
        stream_pos        BIGINT PRIMARY KEY,
        event_id          TEXT   NOT NULL UNIQUE,
        room_id           TEXT   NOT NULL,
        type              TEXT   NOT NULL,
        state_key         TEXT,
        sender            TEXT   NOT NULL,
        depth             BIGINT NOT NULL,
        origin_server_ts  BIGINT NOT NULL,
        -- the signed PDU as canonical JSON (the redacted form once redacted)
        pdu               TEXT   NOT NULL,
        redacted_by       TEXT,
        -- the state entry this event replaced, for unsigned.prev_content / replaces_state
        replaces_state    TEXT,
        prev_content      TEXT,
        prev_sender       TEXT,
        -- client transaction (idempotent sends, unsigned.transaction_id for the sending device)
        txn_device        TEXT,
        txn_scope         TEXT,
        txn_id            TEXT
      )`);
    await q.query(`CREATE INDEX room_events_room_pos_idx ON room_events (room_id, stream_pos)`);
    await q.query(`
      CREATE UNIQUE INDEX room_events_txn_idx ON room_events (sender, txn_device, txn_scope, txn_id)
      WHERE txn_id IS NOT NULL`);

    // State history: each state event's validity interval [from_pos, to_pos). Current state has to_pos NULL.
    await q.query(`
      CREATE TABLE room_state (
        room_id    TEXT   NOT NULL,
        type       TEXT   NOT NULL,
        state_key  TEXT   NOT NULL,
        event_id   TEXT   NOT NULL,
        from_pos   BIGINT NOT NULL,
        to_pos     BIGINT
      )`);
    await q.query(
      `CREATE INDEX room_state_current_idx ON room_state (room_id, type, state_key) WHERE to_pos IS NULL`,
    );
    await q.query(`CREATE INDEX room_state_history_idx ON room_state (room_id, from_pos)`);
    await q.query(
      `CREATE INDEX room_state_member_idx ON room_state (state_key, from_pos) WHERE type = 'm.room.member'`,
    );

    // Current membership per (room, user); first_pos keeps the order users first appeared in the room.
    await q.query(`
      CREATE TABLE room_memberships (
        room_id       TEXT    NOT NULL,
        user_id       TEXT    NOT NULL,
        membership    TEXT    NOT NULL,
        event_id      TEXT    NOT NULL,
        stream_pos    BIGINT  NOT NULL,
        first_pos     BIGINT  NOT NULL,
        sender        TEXT    NOT NULL,
        is_local      BOOLEAN NOT NULL,
        display_name  TEXT,
        avatar_url    TEXT,
        forgotten     BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (room_id, user_id)
      )`);
    await q.query(`CREATE INDEX room_memberships_user_idx ON room_memberships (user_id, membership)`);
    await q.query(`CREATE INDEX room_memberships_order_idx ON room_memberships (room_id, first_pos)`);

    await q.query(`
      CREATE TABLE room_aliases (
        alias       TEXT   PRIMARY KEY,
        room_id     TEXT   NOT NULL,
        creator     TEXT   NOT NULL,
        created_ts  BIGINT NOT NULL
      )`);
    await q.query(`CREATE INDEX room_aliases_room_idx ON room_aliases (room_id)`);

    await q.query(`
      CREATE TABLE room_receipts (
        room_id       TEXT   NOT NULL,
        user_id       TEXT   NOT NULL,
        receipt_type  TEXT   NOT NULL,
        thread_id     TEXT   NOT NULL DEFAULT '',
        event_id      TEXT   NOT NULL,
        ts            BIGINT NOT NULL,
        stream_pos    BIGINT NOT NULL,
        PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
      )`);
    await q.query(`CREATE INDEX room_receipts_pos_idx ON room_receipts (room_id, stream_pos)`);

    await q.query(`
      CREATE TABLE room_typing (
        room_id     TEXT   NOT NULL,
        user_id     TEXT   NOT NULL,
        expires_ts  BIGINT NOT NULL,
        stream_pos  BIGINT NOT NULL,
        PRIMARY KEY (room_id, user_id)
      )`);
    await q.query(`CREATE INDEX room_typing_pos_idx ON room_typing (room_id, stream_pos)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'room_typing',
      'room_receipts',
      'room_aliases',
      'room_memberships',
      'room_state',
      'room_events',
      'rooms',
    ]) {
      await q.query(`DROP TABLE ${t}`);
    }
    await q.query(`ALTER TABLE userapi_account_datas ALTER COLUMN stream_id DROP DEFAULT`);
    await q.query(`DROP FUNCTION lattice_next_stream_pos(BIGINT)`);
    await q.query(`DROP TABLE lattice_stream_head`);
  }
}
