import { Injectable } from '@nestjs/common';
import { textArray } from '../../database/sql-literals.js';
import { SqlService, type Queryable } from '../../database/sql.service.js';
import type { RoomVersion } from '../events/room-versions.js';

export interface RoomRow {
  room_id: string;
  room_version: RoomVersion;
  creator: string;
  created_ts: string;
  last_event_id: string | null;
  last_depth: string;
  is_public: boolean;
  purged_ts: string | null;
}

const ROOM_COLUMNS = `room_id, room_version, creator, created_ts, last_event_id, last_depth, is_public, purged_ts`;

@Injectable()
export class RoomRepository {
  constructor(private readonly sql: SqlService) {}

  find(roomId: string, db: Queryable = this.sql): Promise<RoomRow | null> {
    return db.one<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE room_id = $1`, [roomId]);
  }

  /**
   * The statement that locks rooms' rows, to open a writer's transaction with (same round trip as
   * BEGIN): writers to a room queue here, across processes; other rooms proceed. The rows are
   * locked in room ID order, so writers locking overlapping sets of rooms cannot deadlock.
   */
  lockStatement(roomIds: string[]): string {
    return `SELECT ${ROOM_COLUMNS} FROM rooms WHERE room_id = ANY(${textArray(roomIds)}) ORDER BY room_id FOR UPDATE`;
  }

  /** Locks one room's row (see lockStatement). */
  lock(roomId: string, tx: Queryable): Promise<RoomRow | null> {
    return tx.one<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE room_id = $1 FOR UPDATE`, [roomId]);
  }

  async insert(roomId: string, version: RoomVersion, creator: string, tx: Queryable): Promise<boolean> {
    const n = await tx.exec(
      `INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [roomId, version, creator, Date.now()],
    );
    return n === 1;
  }

  async setPublic(roomId: string, isPublic: boolean): Promise<void> {
    await this.sql.exec(`UPDATE rooms SET is_public = $2 WHERE room_id = $1`, [roomId, isPublic]);
  }

  /** Marks the room purged: from now on it does not exist for clients. */
  async markPurged(roomId: string): Promise<boolean> {
    const n = await this.sql.exec(
      `UPDATE rooms SET purged_ts = $2, is_public = FALSE WHERE room_id = $1 AND purged_ts IS NULL`,
      [roomId, Date.now()],
    );
    return n === 1;
  }

  /** Published rooms with their member counts, for the public room directory. */
  listPublic(limit: number, offset: number): Promise<{ room_id: string; joined: string }[]> {
    return this.sql.query(
      `SELECT r.room_id, (SELECT count(*) FROM room_memberships m WHERE m.room_id = r.room_id AND m.membership = 'join') AS joined
       FROM rooms r WHERE r.is_public AND r.purged_ts IS NULL
       ORDER BY joined DESC, r.room_id LIMIT $1 OFFSET $2`,
      [limit, offset],
    );
  }

  async countPublic(): Promise<number> {
    const row = await this.sql.one<{ n: string }>(
      `SELECT count(*) AS n FROM rooms WHERE is_public AND purged_ts IS NULL`,
    );
    return Number(row!.n);
  }
}
