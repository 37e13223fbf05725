import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

/** The room tables a purge empties, in the order it empties them (events last: the biggest). */
export const PURGED_ROOM_TABLES = [
  'room_typing',
  'room_receipts',
  'room_aliases',
  'room_memberships',
  'room_state',
  'room_events',
] as const;
export type PurgedRoomTable = (typeof PURGED_ROOM_TABLES)[number];

// Each batch is its own short transaction, so a purge never holds long locks and can stop anywhere.
const DELETE_BATCH_SQL: Record<PurgedRoomTable, string> = {
  room_events: `
    DELETE FROM room_events e USING (
      SELECT stream_pos FROM room_events WHERE room_id = $1 ORDER BY stream_pos LIMIT $2
    ) d WHERE e.stream_pos = d.stream_pos`,
  room_state: `DELETE FROM room_state WHERE ctid = ANY(ARRAY(SELECT ctid FROM room_state WHERE room_id = $1 LIMIT $2))`,
  room_memberships: `DELETE FROM room_memberships WHERE ctid = ANY(ARRAY(SELECT ctid FROM room_memberships WHERE room_id = $1 LIMIT $2))`,
  room_receipts: `DELETE FROM room_receipts WHERE ctid = ANY(ARRAY(SELECT ctid FROM room_receipts WHERE room_id = $1 LIMIT $2))`,
  room_typing: `DELETE FROM room_typing WHERE ctid = ANY(ARRAY(SELECT ctid FROM room_typing WHERE room_id = $1 LIMIT $2))`,
  room_aliases: `DELETE FROM room_aliases WHERE ctid = ANY(ARRAY(SELECT ctid FROM room_aliases WHERE room_id = $1 LIMIT $2))`,
};

@Injectable()
export class RoomPurgeRepository {
  constructor(private readonly sql: SqlService) {}

  /**
   * Hides the room at once (every read path checks purged_ts) and frees its aliases and directory
   * entry, in one transaction. False when the room does not exist or is already being purged.
   */
  async markPurged(roomId: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const n = await tx.exec(
        `UPDATE rooms SET purged_ts = $2, is_public = FALSE WHERE room_id = $1 AND purged_ts IS NULL`,
        [roomId, Date.now()],
      );
      if (n === 0) return false;
      await tx.exec(`DELETE FROM room_aliases WHERE room_id = $1`, [roomId]);
      return true;
    });
  }

  deleteBatch(table: PurgedRoomTable, roomId: string, limit: number): Promise<number> {
    return this.sql.exec(DELETE_BATCH_SQL[table], [roomId, limit]);
  }

  /** The last step: with the room row gone, its ID can be used again. */
  async deleteRoomRow(roomId: string): Promise<void> {
    await this.sql.exec(`DELETE FROM rooms WHERE room_id = $1 AND purged_ts IS NOT NULL`, [roomId]);
  }

  async countEvents(roomId: string): Promise<number> {
    const row = await this.sql.one<{ n: string }>(
      `SELECT count(*) AS n FROM room_events WHERE room_id = $1`,
      [roomId],
    );
    return Number(row!.n);
  }
}
