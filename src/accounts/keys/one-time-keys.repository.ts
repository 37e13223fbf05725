import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';
import type { KeyObject } from './keys.types.js';

export interface NewKey {
  algorithm: string;
  keyId: string;
  key: KeyObject;
}

// The oldest unclaimed key; SKIP LOCKED lets concurrent claims each take a different key.
const CLAIM_OTK_SQL = `
  DELETE FROM keyserver_one_time_keys
  WHERE (user_id, device_id, algorithm, key_id) IN (
    SELECT user_id, device_id, algorithm, key_id FROM keyserver_one_time_keys
    WHERE user_id = $1 AND device_id = $2 AND algorithm = $3
    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING key_id, key_json`;

/** One-time keys (each handed out once) and fallback keys (one per algorithm, reused until replaced). */
@Injectable()
export class OneTimeKeysRepository {
  constructor(private readonly sql: SqlService) {}

  /** The stored keys among the given IDs, to tell a harmless re-upload from a conflicting one. */
  selectExisting(
    userId: string,
    deviceId: string,
    keys: NewKey[],
    db: Queryable = this.sql,
  ): Promise<{ algorithm: string; key_id: string; key_json: KeyObject }[]> {
    return db.query(
      `SELECT algorithm, key_id, key_json FROM keyserver_one_time_keys
       WHERE user_id = $1 AND device_id = $2
         AND (algorithm, key_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
      [userId, deviceId, keys.map((k) => k.algorithm), keys.map((k) => k.keyId)],
    );
  }

  async insert(userId: string, deviceId: string, keys: NewKey[], db: Queryable = this.sql): Promise<void> {
    if (keys.length === 0) return;
    // Values are passed as JSON text: pg would send a bare string key as text, not as a JSON string.
    await db.exec(
      `INSERT INTO keyserver_one_time_keys (user_id, device_id, algorithm, key_id, key_json)
       SELECT $1, $2, a, k, j::jsonb FROM unnest($3::text[], $4::text[], $5::text[]) AS t(a, k, j)
       ON CONFLICT DO NOTHING`,
      [
        userId,
        deviceId,
        keys.map((k) => k.algorithm),
        keys.map((k) => k.keyId),
        keys.map((k) => JSON.stringify(k.key)),
      ],
    );
  }

  async counts(userId: string, deviceId: string): Promise<Record<string, number>> {
    const rows = await this.sql.query<{ algorithm: string; n: string }>(
      `SELECT algorithm, count(*) AS n FROM keyserver_one_time_keys
       WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm`,
      [userId, deviceId],
    );
    return Object.fromEntries(rows.map((r) => [r.algorithm, Number(r.n)]));
  }

  claimOne(
    userId: string,
    deviceId: string,
    algorithm: string,
  ): Promise<{ key_id: string; key_json: KeyObject } | null> {
    return this.sql.one(CLAIM_OTK_SQL, [userId, deviceId, algorithm]);
  }

  /** Replaces the fallback key of each given algorithm (a new key starts unused). */
  async setFallback(
    userId: string,
    deviceId: string,
    keys: NewKey[],
    db: Queryable = this.sql,
  ): Promise<void> {
    for (const k of keys) {
      await db.exec(
        `INSERT INTO keyserver_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)
         VALUES ($1, $2, $3, $4, $5::jsonb, FALSE)
         ON CONFLICT (user_id, device_id, algorithm) DO UPDATE
           SET key_id = EXCLUDED.key_id, key_json = EXCLUDED.key_json,
               used = keyserver_fallback_keys.used AND keyserver_fallback_keys.key_json = EXCLUDED.key_json`,
        [userId, deviceId, k.algorithm, k.keyId, JSON.stringify(k.key)],
      );
    }
  }

  claimFallback(
    userId: string,
    deviceId: string,
    algorithm: string,
  ): Promise<{ key_id: string; key_json: KeyObject } | null> {
    return this.sql.one(
      `UPDATE keyserver_fallback_keys SET used = TRUE
       WHERE user_id = $1 AND device_id = $2 AND algorithm = $3 RETURNING key_id, key_json`,
      [userId, deviceId, algorithm],
    );
  }

  async unusedFallbackAlgorithms(userId: string, deviceId: string): Promise<string[]> {
    const rows = await this.sql.query<{ algorithm: string }>(
      `SELECT algorithm FROM keyserver_fallback_keys
       WHERE user_id = $1 AND device_id = $2 AND NOT used ORDER BY algorithm`,
      [userId, deviceId],
    );
    return rows.map((r) => r.algorithm);
  }

  async deleteDevices(userId: string, deviceIds: string[], db: Queryable = this.sql): Promise<void> {
    await db.exec(`DELETE FROM keyserver_one_time_keys WHERE user_id = $1 AND device_id = ANY($2)`, [
      userId,
      deviceIds,
    ]);
    await db.exec(`DELETE FROM keyserver_fallback_keys WHERE user_id = $1 AND device_id = ANY($2)`, [
      userId,
      deviceIds,
    ]);
  }
}
