import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';
import type { CrossSigningKey, CrossSigningKeyType, DeviceKeys, RemoteListState } from './keys.types.js';

export interface DeviceKeysRow {
  user_id: string;
  device_id: string;
  key_json: DeviceKeys | null;
  display_name: string | null;
}

// Local keys are visible only while the device exists (a deleted device's keys may linger until
// the deletion listener runs); the display name is the device's own.
const SELECT_LOCAL_SQL = `
  SELECT k.user_id, k.device_id, k.key_json, d.display_name
  FROM keyserver_device_keys k
  JOIN userapi_devices d ON d.localpart = $2 AND d.server_name = $3 AND d.device_id = k.device_id
  WHERE k.user_id = $1 AND k.key_json IS NOT NULL AND ($4::text[] IS NULL OR k.device_id = ANY($4))
  ORDER BY k.device_id`;

const SELECT_CACHED_SQL = `
  SELECT user_id, device_id, key_json, display_name FROM keyserver_device_keys
  WHERE user_id = ANY($1) ORDER BY user_id, device_id`;

// Returns a row only when the keys are new or differ from the stored ones (JSONB equality ignores key order).
const UPSERT_KEYS_SQL = `
  INSERT INTO keyserver_device_keys (user_id, device_id, key_json, display_name, updated_ts)
  VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (user_id, device_id) DO UPDATE
    SET key_json = EXCLUDED.key_json, display_name = EXCLUDED.display_name, updated_ts = EXCLUDED.updated_ts
    WHERE keyserver_device_keys.key_json IS DISTINCT FROM EXCLUDED.key_json
       OR keyserver_device_keys.display_name IS DISTINCT FROM EXCLUDED.display_name
  RETURNING device_id`;

/** Device identity keys, cross-signing keys, and the bookkeeping of cached remote device lists. */
@Injectable()
export class DeviceKeysRepository {
  constructor(private readonly sql: SqlService) {}

  selectLocal(
    userId: string,
    localpart: string,
    serverName: string,
    deviceIds: string[] | null,
  ): Promise<DeviceKeysRow[]> {
    return this.sql.query<DeviceKeysRow>(SELECT_LOCAL_SQL, [userId, localpart, serverName, deviceIds]);
  }

  selectCached(userIds: string[], db: Queryable = this.sql): Promise<DeviceKeysRow[]> {
    return db.query<DeviceKeysRow>(SELECT_CACHED_SQL, [userIds]);
  }

  /** Inserts or replaces a device's keys; true when something changed. */
  async upsert(
    userId: string,
    deviceId: string,
    keys: DeviceKeys | null,
    displayName: string | null,
    db: Queryable = this.sql,
  ): Promise<boolean> {
    const rows = await db.query(UPSERT_KEYS_SQL, [userId, deviceId, keys, displayName, Date.now()]);
    return rows.length > 0;
  }

  /** Deletes devices' keys; returns the device IDs that had keys. */
  async deleteDevices(userId: string, deviceIds: string[], db: Queryable = this.sql): Promise<string[]> {
    const rows = await db.query<{ device_id: string; had_keys: boolean }>(
      `DELETE FROM keyserver_device_keys WHERE user_id = $1 AND device_id = ANY($2)
       RETURNING device_id, key_json IS NOT NULL AS had_keys`,
      [userId, deviceIds],
    );
    return rows.filter((r) => r.had_keys).map((r) => r.device_id);
  }

  selectCrossSigning(
    userIds: string[],
    types: CrossSigningKeyType[],
  ): Promise<{ user_id: string; key_type: CrossSigningKeyType; key_json: CrossSigningKey }[]> {
    return this.sql.query(
      `SELECT user_id, key_type, key_json FROM keyserver_cross_signing_keys
       WHERE user_id = ANY($1) AND key_type = ANY($2)`,
      [userIds, types],
    );
  }

  /** Sets (or, with null, removes) a cross-signing key; true when something changed. */
  async setCrossSigning(
    userId: string,
    type: CrossSigningKeyType,
    key: CrossSigningKey | null,
    db: Queryable = this.sql,
  ): Promise<boolean> {
    if (key === null) {
      return (
        (await db.exec(`DELETE FROM keyserver_cross_signing_keys WHERE user_id = $1 AND key_type = $2`, [
          userId,
          type,
        ])) > 0
      );
    }
    const rows = await db.query(
      `INSERT INTO keyserver_cross_signing_keys (user_id, key_type, key_json) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, key_type) DO UPDATE SET key_json = EXCLUDED.key_json
         WHERE keyserver_cross_signing_keys.key_json IS DISTINCT FROM EXCLUDED.key_json
       RETURNING user_id`,
      [userId, type, key],
    );
    return rows.length > 0;
  }

  async selectRemoteLists(userIds: string[]): Promise<RemoteListState[]> {
    const rows = await this.sql.query<{
      user_id: string;
      server_name: string;
      stream_id: string | null;
      is_stale: boolean;
    }>(
      `SELECT user_id, server_name, stream_id, is_stale FROM keyserver_remote_device_lists WHERE user_id = ANY($1)`,
      [userIds],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      serverName: r.server_name,
      streamId: r.stream_id === null ? null : Number(r.stream_id),
      isStale: r.is_stale,
    }));
  }

  /** Creates the list's row if needed and locks it for the rest of the transaction. */
  async lockRemoteList(userId: string, serverName: string, db: Queryable): Promise<void> {
    await db.exec(
      `INSERT INTO keyserver_remote_device_lists (user_id, server_name, stream_id, is_stale, updated_ts)
       VALUES ($1, $2, NULL, TRUE, $3) ON CONFLICT (user_id) DO NOTHING`,
      [userId, serverName, Date.now()],
    );
    await db.exec(`SELECT 1 FROM keyserver_remote_device_lists WHERE user_id = $1 FOR UPDATE`, [userId]);
  }

  /** Records a successful fetch; the list stays stale if it was marked stale after the fetch began. */
  async markRemoteFresh(
    userId: string,
    streamId: number | null,
    fetchStartedTs: number,
    db: Queryable,
  ): Promise<void> {
    await db.exec(
      `UPDATE keyserver_remote_device_lists
       SET stream_id = $2, updated_ts = $3,
           is_stale = (is_stale AND stale_ts IS NOT NULL AND stale_ts >= $4)
       WHERE user_id = $1`,
      [userId, streamId, Date.now(), fetchStartedTs],
    );
  }

  /** Marks cached lists stale; returns the users that were cached at all. */
  async markRemoteStale(userIds: string[]): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      `UPDATE keyserver_remote_device_lists SET is_stale = TRUE, stale_ts = $2
       WHERE user_id = ANY($1) RETURNING user_id`,
      [userIds, Date.now()],
    );
    return rows.map((r) => r.user_id);
  }
}
