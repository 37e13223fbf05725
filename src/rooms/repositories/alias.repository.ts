import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';

@Injectable()
export class AliasRepository {
  constructor(private readonly sql: SqlService) {}

  async resolve(alias: string): Promise<string | null> {
    const row = await this.sql.one<{ room_id: string }>(
      `SELECT a.room_id FROM room_aliases a JOIN rooms r ON r.room_id = a.room_id WHERE a.alias = $1 AND r.purged_ts IS NULL`,
      [alias],
    );
    return row?.room_id ?? null;
  }

  /** False when the alias is taken. */
  async create(alias: string, roomId: string, creator: string, db: Queryable = this.sql): Promise<boolean> {
    const n = await db.exec(
      `INSERT INTO room_aliases (alias, room_id, creator, created_ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [alias, roomId, creator, Date.now()],
    );
    return n === 1;
  }

  async find(alias: string): Promise<{ room_id: string; creator: string } | null> {
    return this.sql.one(`SELECT room_id, creator FROM room_aliases WHERE alias = $1`, [alias]);
  }

  async delete(alias: string): Promise<boolean> {
    return (await this.sql.exec(`DELETE FROM room_aliases WHERE alias = $1`, [alias])) === 1;
  }

  async forRoom(roomId: string): Promise<string[]> {
    const rows = await this.sql.query<{ alias: string }>(
      `SELECT alias FROM room_aliases WHERE room_id = $1 ORDER BY alias`,
      [roomId],
    );
    return rows.map((r) => r.alias);
  }
}
