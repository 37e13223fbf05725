import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

/** Which room is each user's notices room, and the lock that serialises its creation. */
@Injectable()
export class ServerNoticeRoomRepository {
  constructor(private readonly sql: SqlService) {}

  async find(userId: string): Promise<string | null> {
    const row = await this.sql.one<{ room_id: string }>(
      `SELECT room_id FROM server_notice_rooms WHERE user_id = $1`,
      [userId],
    );
    return row?.room_id ?? null;
  }

  async isNoticeRoom(userId: string, roomId: string): Promise<boolean> {
    const row = await this.sql.one(`SELECT 1 FROM server_notice_rooms WHERE user_id = $1 AND room_id = $2`, [
      userId,
      roomId,
    ]);
    return row !== null;
  }

  async save(userId: string, roomId: string): Promise<void> {
    await this.sql.exec(
      `INSERT INTO server_notice_rooms (user_id, room_id, created_ts) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO UPDATE SET room_id = EXCLUDED.room_id, created_ts = EXCLUDED.created_ts`,
      [userId, roomId, Date.now()],
    );
  }

  /** Forgets a room as anyone's notices room (the room is being purged); returns how many rows went. */
  deleteRoom(roomId: string): Promise<number> {
    return this.sql.exec(`DELETE FROM server_notice_rooms WHERE room_id = $1`, [roomId]);
  }

  /**
   * Runs fn while holding a PostgreSQL advisory lock on `key`, so that every process of the
   * deployment takes turns. The lock belongs to a transaction on its own connection: it is released
   * when fn ends, and also when the process dies. fn does its own writes on other connections.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.sql.withAdvisoryLock(`lattice:notices:${key}`, fn);
  }
}
