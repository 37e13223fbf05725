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
        const row = await tx.one<{ pos: string }>(
          `WITH stored AS (
             INSERT INTO to_device_messages (stream_pos, user_id, device_id, sender, type, content)
             SELECT lattice_next_stream_pos(), u, d, $4, $5, c
             FROM unnest($1::text[], $2::text[], $3::text[]) AS t(u, d, c)
             RETURNING stream_pos
           ) SELECT max(stream_pos)::text AS pos FROM stored`,
          [
            targets.map((t) => t.userId),
            targets.map((t) => t.deviceId),
            targets.map((t) => t.content),
            sender,
            type,
          ],
        );
        return Number(row!.pos);
      },
      { holdsStreamHead: true },
    );
  }

  /**
   * The device's messages in (acknowledged, upTo], oldest first; those at or below `acknowledged`
   * (its client has them) are deleted in the same round trip.
   */
  takePending(userId: string, deviceId: string, acknowledged: number, upTo: number): Promise<ToDeviceRow[]> {
    return this.sql.query<ToDeviceRow>(
      `WITH acked AS (
         DELETE FROM to_device_messages WHERE user_id = $1 AND device_id = $2 AND stream_pos <= $3
       )
       SELECT stream_pos, sender, type, content FROM to_device_messages
       WHERE user_id = $1 AND device_id = $2 AND stream_pos > $3 AND stream_pos <= $4 ORDER BY stream_pos`,
      [userId, deviceId, acknowledged, upTo],
    );
  }
}
