import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';

export interface AccountDataRow {
  room_id: string;
  type: string;
  content: Record<string, unknown>;
  stream_id: string;
}

@Injectable()
export class AccountDataRepository {
  constructor(private readonly sql: SqlService) {}

  get(localpart: string, serverName: string, roomId: string, type: string): Promise<AccountDataRow | null> {
    return this.sql.one<AccountDataRow>(
      `SELECT room_id, type, content, stream_id FROM userapi_account_datas
       WHERE localpart = $1 AND server_name = $2 AND room_id = $3 AND type = $4`,
      [localpart, serverName, roomId, type],
    );
  }

  /** Upserts and gives the row a new stream position so incremental /sync delivers it. */
  async put(
    localpart: string,
    serverName: string,
    roomId: string,
    type: string,
    content: Record<string, unknown>,
    db: Queryable = this.sql,
  ): Promise<number> {
    const row = await db.one<{ stream_id: string }>(
      `INSERT INTO userapi_account_datas (localpart, server_name, room_id, type, content, stream_id)
       VALUES ($1, $2, $3, $4, $5, lattice_next_stream_pos())
       ON CONFLICT (localpart, server_name, room_id, type)
       DO UPDATE SET content = EXCLUDED.content, stream_id = EXCLUDED.stream_id
       RETURNING stream_id`,
      [localpart, serverName, roomId, type, JSON.stringify(content)],
    );
    return Number(row!.stream_id);
  }

  /** Sets (or with null removes) one tag in the room's m.tag, in one statement. */
  async setTag(
    localpart: string,
    serverName: string,
    roomId: string,
    tag: string,
    value: Record<string, unknown> | null,
  ): Promise<number> {
    const row = await this.sql.one<{ stream_id: string }>(
      `INSERT INTO userapi_account_datas (localpart, server_name, room_id, type, content, stream_id)
       VALUES ($1, $2, $3, 'm.tag',
               jsonb_build_object('tags', CASE WHEN $5::jsonb IS NULL THEN '{}'::jsonb ELSE jsonb_build_object($4::text, $5::jsonb) END),
               lattice_next_stream_pos())
       ON CONFLICT (localpart, server_name, room_id, type) DO UPDATE SET
         content = jsonb_set(userapi_account_datas.content, '{tags}',
           CASE WHEN $5::jsonb IS NULL THEN COALESCE(userapi_account_datas.content->'tags', '{}'::jsonb) - $4::text
                ELSE COALESCE(userapi_account_datas.content->'tags', '{}'::jsonb) || jsonb_build_object($4::text, $5::jsonb) END),
         stream_id = EXCLUDED.stream_id
       RETURNING stream_id`,
      [localpart, serverName, roomId, tag, value === null ? null : JSON.stringify(value)],
    );
    return Number(row!.stream_id);
  }

  /** Account data changed after `since` (all of it when since is 0), global and per room. */
  listSince(localpart: string, serverName: string, since: number, upTo: number): Promise<AccountDataRow[]> {
    return this.sql.query<AccountDataRow>(
      `SELECT room_id, type, content, stream_id FROM userapi_account_datas
       WHERE localpart = $1 AND server_name = $2 AND stream_id > $3 AND stream_id <= $4
       ORDER BY stream_id`,
      [localpart, serverName, since, upTo],
    );
  }

  /** All of one user's account data for one room. */
  listForRoom(localpart: string, serverName: string, roomId: string): Promise<AccountDataRow[]> {
    return this.sql.query<AccountDataRow>(
      `SELECT room_id, type, content, stream_id FROM userapi_account_datas
       WHERE localpart = $1 AND server_name = $2 AND room_id = $3 ORDER BY stream_id`,
      [localpart, serverName, roomId],
    );
  }

  /** Removes every user's account data for a room (purge). */
  deleteForRoom(roomId: string, db: Queryable = this.sql): Promise<number> {
    return db.exec(`DELETE FROM userapi_account_datas WHERE room_id = $1`, [roomId]);
  }

  /** Users (localparts) whose room account data for `roomId` has the given tag. */
  async usersWithRoomTag(roomId: string, tag: string): Promise<string[]> {
    const rows = await this.sql.query<{ localpart: string }>(
      `SELECT localpart FROM userapi_account_datas WHERE room_id = $1 AND type = 'm.tag' AND content->'tags' ? $2`,
      [roomId, tag],
    );
    return rows.map((r) => r.localpart);
  }
}
