import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';
import type { AccountType } from './account.repository.js';

export interface DeviceRow {
  session_id: string;
  device_id: string;
  localpart: string;
  server_name: string;
  created_ts: string;
  display_name: string | null;
  last_seen_ts: string | null;
  last_seen_ip: string | null;
  user_agent: string | null;
}

/** A device joined with its account, as needed on every authenticated request. */
export interface TokenOwnerRow extends DeviceRow {
  account_type: AccountType;
  is_deactivated: boolean;
}

const DEVICE_COLUMNS = `d.session_id, d.device_id, d.localpart, d.server_name, d.created_ts, d.display_name,
  d.last_seen_ts, d.last_seen_ip, d.user_agent`;

// account_type is read with the token (afresh on admin routes, so a promotion by SQL applies there at once).
const SELECT_BY_TOKEN_SQL = `
  SELECT ${DEVICE_COLUMNS}, a.account_type, a.is_deactivated
  FROM userapi_devices d
  JOIN userapi_accounts a ON a.localpart = d.localpart AND a.server_name = d.server_name
  WHERE d.access_token_hash = $1`;

// Logging in with an existing device_id replaces that device's token (the spec: reuse replaces tokens).
const UPSERT_DEVICE_SQL = `
  INSERT INTO userapi_devices (device_id, localpart, server_name, access_token_hash, created_ts, display_name,
                               last_seen_ts, last_seen_ip, user_agent)
  VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8)
  ON CONFLICT (localpart, server_name, device_id) DO UPDATE
    SET access_token_hash = EXCLUDED.access_token_hash,
        display_name = COALESCE(EXCLUDED.display_name, userapi_devices.display_name),
        last_seen_ts = EXCLUDED.last_seen_ts, last_seen_ip = EXCLUDED.last_seen_ip, user_agent = EXCLUDED.user_agent
  RETURNING (xmax = 0) AS created`;

/**
 * Deletes devices with what is kept for them alone: their pending to-device messages and the
 * transaction IDs they sent with (a device logged in again under the same ID starts afresh).
 */
const DELETE_DEVICES_SQL = `
  WITH gone AS (
    DELETE FROM userapi_devices
    WHERE localpart = $1 AND server_name = $2
      AND ($3::text[] IS NULL OR device_id = ANY($3)) AND ($4::text IS NULL OR device_id <> $4)
    RETURNING device_id
  ), messages AS (
    DELETE FROM to_device_messages
    WHERE user_id = '@' || $1 || ':' || $2 AND device_id IN (SELECT device_id FROM gone)
  ), capped AS (
    DELETE FROM to_device_capped
    WHERE user_id = '@' || $1 || ':' || $2 AND device_id IN (SELECT device_id FROM gone)
  ), txns AS (
    DELETE FROM to_device_txns
    WHERE sender = '@' || $1 || ':' || $2 AND device_id IN (SELECT device_id FROM gone)
  )
  SELECT device_id FROM gone`;

export interface NewDevice {
  deviceId: string;
  localpart: string;
  serverName: string;
  tokenHash: Buffer;
  displayName: string | null;
  ip: string | null;
  userAgent: string | null;
}

@Injectable()
export class DeviceRepository {
  constructor(private readonly sql: SqlService) {}

  findByTokenHash(hash: Buffer): Promise<TokenOwnerRow | null> {
    return this.sql.one<TokenOwnerRow>(SELECT_BY_TOKEN_SQL, [hash]);
  }

  /** Returns true when a new device was created (false when an existing one got a new token). */
  async upsert(device: NewDevice, db: Queryable = this.sql): Promise<boolean> {
    const row = await db.one<{ created: boolean }>(UPSERT_DEVICE_SQL, [
      device.deviceId,
      device.localpart,
      device.serverName,
      device.tokenHash,
      Date.now(),
      device.displayName,
      device.ip,
      device.userAgent,
    ]);
    return row!.created;
  }

  list(localpart: string, serverName: string): Promise<DeviceRow[]> {
    return this.sql.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM userapi_devices d WHERE d.localpart = $1 AND d.server_name = $2 ORDER BY d.session_id`,
      [localpart, serverName],
    );
  }

  /** The device IDs of several local users at once. */
  deviceIdsOf(localparts: string[], serverName: string): Promise<{ localpart: string; device_id: string }[]> {
    return this.sql.query<{ localpart: string; device_id: string }>(
      `SELECT localpart, device_id FROM userapi_devices WHERE localpart = ANY($1::text[]) AND server_name = $2`,
      [localparts, serverName],
    );
  }

  get(localpart: string, serverName: string, deviceId: string): Promise<DeviceRow | null> {
    return this.sql.one<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM userapi_devices d
       WHERE d.localpart = $1 AND d.server_name = $2 AND d.device_id = $3`,
      [localpart, serverName, deviceId],
    );
  }

  async rename(
    localpart: string,
    serverName: string,
    deviceId: string,
    displayName: string | null,
  ): Promise<boolean> {
    const n = await this.sql.exec(
      `UPDATE userapi_devices SET display_name = $4 WHERE localpart = $1 AND server_name = $2 AND device_id = $3`,
      [localpart, serverName, deviceId, displayName],
    );
    return n > 0;
  }

  /** Deletes the given devices (all of the user's when deviceIds is null) except `keep`; returns the deleted IDs. */
  async delete(
    localpart: string,
    serverName: string,
    deviceIds: string[] | null,
    keep: string | null = null,
    db: Queryable = this.sql,
  ): Promise<string[]> {
    const rows = await db.query<{ device_id: string }>(DELETE_DEVICES_SQL, [
      localpart,
      serverName,
      deviceIds,
      keep,
    ]);
    return rows.map((r) => r.device_id);
  }

  async touch(sessionId: string, ts: number, ip: string | null, userAgent: string | null): Promise<void> {
    await this.sql.exec(
      `UPDATE userapi_devices SET last_seen_ts = $2, last_seen_ip = $3, user_agent = $4 WHERE session_id = $1`,
      [sessionId, ts, ip, userAgent],
    );
  }
}
