import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

export interface ToDeviceTarget {
  userId: string;
  deviceId: string;
  content: string;
}

export interface ToDeviceRow {
  stream_pos: string;
  sender: string;
  type: string;
  content: string;
}

@Injectable()
export class ToDeviceRepository {
  constructor(private readonly sql: SqlService) {}

  /**
   * Stores one message per target with its stream position, together with the transaction that
   * sent them: null (and nothing stored) when that transaction was already used. Otherwise the
   * highest position given, 0 when there were no targets.
   */
  async store(
    sender: string,
    senderDevice: string,
    txnId: string,
    type: string,
    targets: ToDeviceTarget[],
  ): Promise<number | null> {
    return this.sql.transaction(
      async (tx) => {
        const fresh = await tx.exec(
          `INSERT INTO to_device_txns (sender, device_id, txn_id, created_ts) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING`,
          [sender, senderDevice, txnId, Date.now()],
        );
        if (fresh === 0) return null;
        if (targets.length === 0) return 0;
        // Positions for every row at once: the stream head's row lock is taken once, not per row.
        const row = await tx.one<{ last: string }>(`SELECT lattice_next_stream_pos($1) AS last`, [
          targets.length,
        ]);
        const last = Number(row!.last);
        await tx.exec(
          `INSERT INTO to_device_messages (stream_pos, user_id, device_id, sender, type, content)
           SELECT $6::bigint + i, u, d, $4, $5, c
           FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(u, d, c, i)`,
          [
            targets.map((t) => t.userId),
            targets.map((t) => t.deviceId),
            targets.map((t) => t.content),
            sender,
            type,
            last - targets.length,
          ],
        );
        return last;
      },
      { holdsStreamHead: true },
    );
  }

  /**
   * For a device's /sync from `since` (0: an initial sync): forgets what that token acknowledges
   * (every message at or below it, or, when the sync that gave it was capped, those it carried),
   * then answers up to `limit` of the others at or below `upTo`, oldest first, and whether more
   * are left.
   */
  async takePending(
    userId: string,
    deviceId: string,
    since: number,
    upTo: number,
    limit: number,
  ): Promise<{ rows: ToDeviceRow[]; more: boolean }> {
    // One statement (one round trip, on every /sync): the acknowledged point, the deletions it
    // allows, and the rest, read from the statement's snapshot (which the deletions do not change).
    const rows = await this.sql.query<ToDeviceRow>(
      `WITH ack AS (
         SELECT COALESCE(
           (SELECT delivered_upto FROM to_device_capped WHERE user_id = $1 AND device_id = $2 AND token_pos = $3),
           $3
         ) AS upto
       ), acked AS (
         DELETE FROM to_device_messages
         WHERE user_id = $1 AND device_id = $2 AND stream_pos <= (SELECT upto FROM ack)
       ), stale AS (
         DELETE FROM to_device_capped WHERE user_id = $1 AND device_id = $2 AND token_pos < $3
       )
       SELECT stream_pos, sender, type, content FROM to_device_messages
       WHERE user_id = $1 AND device_id = $2 AND stream_pos > (SELECT upto FROM ack) AND stream_pos <= $4
       ORDER BY stream_pos LIMIT $5`,
      [userId, deviceId, since, upTo, limit + 1],
    );
    return { rows: rows.slice(0, limit), more: rows.length > limit };
  }

  /**
   * Remembers that the sync answered with `token` carried the device's messages up to `upTo` only,
   * and moves the stream head on by one (a position with nothing at it): the device's next sync
   * then answers with another token, so that one token never stands for two deliveries.
   */
  async recordCapped(userId: string, deviceId: string, token: number, upTo: number): Promise<void> {
    await this.sql.exec(
      `INSERT INTO to_device_capped (user_id, device_id, token_pos, delivered_upto) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, device_id, token_pos) DO UPDATE SET delivered_upto = EXCLUDED.delivered_upto`,
      [userId, deviceId, token, upTo],
    );
    await this.sql.exec(`SELECT lattice_next_stream_pos()`);
  }
}
