import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

export interface ReceiptRow {
  room_id: string;
  user_id: string;
  receipt_type: string;
  thread_id: string;
  event_id: string;
  ts: string;
  stream_pos: string;
}

/**
 * The room ($1) when it exists and is not being purged, its row share-locked until the write
 * commits: purgeRoom's marking waits for writes already under way, and writes after it see the
 * mark. Without the lock, a typing notice or receipt checked just before the marking could be
 * stored after the purge job had emptied those tables, and outlive the room.
 */
const LIVE_ROOM = `WITH live AS (SELECT 1 FROM rooms WHERE room_id = $1 AND purged_ts IS NULL FOR SHARE)`;

/** Receipts and typing: per-room ephemeral data with stream positions so /sync can deliver changes. */
@Injectable()
export class EphemeralRepository {
  constructor(private readonly sql: SqlService) {}

  async putReceipt(
    roomId: string,
    userId: string,
    type: string,
    threadId: string,
    eventId: string,
  ): Promise<number | null> {
    const row = await this.sql.one<{ stream_pos: string }>(
      `${LIVE_ROOM}
       INSERT INTO room_receipts (room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos)
       SELECT $1, $2, $3, $4, $5, $6, lattice_next_stream_pos() FROM live
       ON CONFLICT (room_id, user_id, receipt_type, thread_id)
       DO UPDATE SET event_id = EXCLUDED.event_id, ts = EXCLUDED.ts, stream_pos = EXCLUDED.stream_pos
       RETURNING stream_pos`,
      [roomId, userId, type, threadId, eventId, Date.now()],
    );
    return row ? Number(row.stream_pos) : null;
  }

  receiptsSince(roomIds: string[], after: number, upTo: number): Promise<ReceiptRow[]> {
    return this.sql.query<ReceiptRow>(
      `SELECT room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos FROM room_receipts
       WHERE room_id = ANY($1) AND stream_pos > $2 AND stream_pos <= $3`,
      [roomIds, after, upTo],
    );
  }

  /** The position of the user's read receipt (m.read or m.read.private) in a room, for unread counts. */
  async readPosition(roomId: string, userId: string): Promise<number> {
    const row = await this.sql.one<{ pos: string | null }>(
      `SELECT max(e.stream_pos) AS pos FROM room_receipts r JOIN room_events e ON e.event_id = r.event_id
       WHERE r.room_id = $1 AND r.user_id = $2 AND r.receipt_type IN ('m.read', 'm.read.private', 'm.fully_read')`,
      [roomId, userId],
    );
    return row?.pos ? Number(row.pos) : 0;
  }

  /** Null when the room is gone or being purged. */
  async setTyping(roomId: string, userId: string, expiresTs: number): Promise<number | null> {
    const row = await this.sql.one<{ stream_pos: string }>(
      `${LIVE_ROOM}
       INSERT INTO room_typing (room_id, user_id, expires_ts, stream_pos)
       SELECT $1, $2, $3, lattice_next_stream_pos() FROM live
       ON CONFLICT (room_id, user_id) DO UPDATE SET expires_ts = EXCLUDED.expires_ts, stream_pos = EXCLUDED.stream_pos
       RETURNING stream_pos`,
      [roomId, userId, expiresTs],
    );
    return row ? Number(row.stream_pos) : null;
  }

  /** Whether a typing notification has timed out without its end having a stream position yet. */
  async hasExpiredTyping(now: number): Promise<boolean> {
    const row = await this.sql.one(
      `SELECT 1 FROM room_typing WHERE expires_ts > 0 AND expires_ts <= $1 LIMIT 1`,
      [now],
    );
    return row !== null;
  }

  /**
   * Ends the typing notifications that timed out: each gets a stream position (so /sync sends the
   * room's new typing set) and expires_ts 0 (so it ends once, whichever process gets there first).
   * The stream head is locked first, in the order setTyping takes its locks (head, then row):
   * locking rows first could deadlock with a setTyping on one of them.
   */
  expireTyping(now: number): Promise<{ room_id: string; stream_pos: string }[]> {
    return this.sql.transaction(
      async (tx) =>
        tx.query<{ room_id: string; stream_pos: string }>(
          `UPDATE room_typing SET expires_ts = 0, stream_pos = lattice_next_stream_pos()
           WHERE expires_ts > 0 AND expires_ts <= $1 RETURNING room_id, stream_pos`,
          [now],
        ),
      { holdsStreamHead: true, opening: ['SELECT pos FROM lattice_stream_head FOR UPDATE'] },
    );
  }

  /** Rooms whose typing set changed in (after, upTo]. */
  async typingChanged(roomIds: string[], after: number, upTo: number): Promise<string[]> {
    const rows = await this.sql.query<{ room_id: string }>(
      `SELECT DISTINCT room_id FROM room_typing WHERE room_id = ANY($1) AND stream_pos > $2 AND stream_pos <= $3`,
      [roomIds, after, upTo],
    );
    return rows.map((r) => r.room_id);
  }

  async typingUsers(roomId: string, now: number): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      `SELECT user_id FROM room_typing WHERE room_id = $1 AND expires_ts > $2 ORDER BY user_id`,
      [roomId, now],
    );
    return rows.map((r) => r.user_id);
  }
}
