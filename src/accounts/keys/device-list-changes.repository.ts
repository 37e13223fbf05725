import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';

/** The device-list change stream: one row per change of a user's devices, positioned in the sync stream. */
@Injectable()
export class DeviceListChangesRepository {
  constructor(private readonly sql: SqlService) {}

  /**
   * Records a change; returns its stream position. Call it last in the transaction: the position
   * counter stays locked until commit, which is what keeps positions visible in order.
   */
  async record(userId: string, db: Queryable = this.sql): Promise<number> {
    const row = await db.one<{ stream_id: string }>(
      `INSERT INTO keyserver_device_list_changes (stream_id, user_id) VALUES (lattice_next_stream_pos(), $1)
       RETURNING stream_id`,
      [userId],
    );
    return Number(row!.stream_id);
  }

  async usersChangedBetween(since: number, upTo: number | null): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      `SELECT DISTINCT user_id FROM keyserver_device_list_changes
       WHERE stream_id > $1 AND ($2::bigint IS NULL OR stream_id <= $2) ORDER BY user_id`,
      [since, upTo],
    );
    return rows.map((r) => r.user_id);
  }

  async latestFor(userId: string): Promise<number> {
    const row = await this.sql.one<{ max: string | null }>(
      `SELECT max(stream_id) AS max FROM keyserver_device_list_changes WHERE user_id = $1`,
      [userId],
    );
    return row?.max ? Number(row.max) : 0;
  }
}
