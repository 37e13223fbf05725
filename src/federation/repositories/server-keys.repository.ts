import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

export interface ServerKeyRow {
  server_name: string;
  key_id: string;
  verify_key: string;
  valid_until_ts: number;
  expired_ts: number | null;
  fetched_ts: number;
}

export interface StoredKey {
  keyId: string;
  verifyKey: string;
  validUntilTs: number;
  /** Set for old_verify_keys. */
  expiredTs: number | null;
}

const num = (v: string | null) => (v === null ? null : Number(v));

// A key listed as current must not turn an old key (with expired_ts) back into a current one by a
// stale answer, so expired_ts is kept once known.
const UPSERT_KEY_SQL = `
  INSERT INTO federation_server_keys (server_name, key_id, verify_key, valid_until_ts, expired_ts, fetched_ts)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (server_name, key_id) DO UPDATE
    SET verify_key = EXCLUDED.verify_key,
        valid_until_ts = GREATEST(federation_server_keys.valid_until_ts, EXCLUDED.valid_until_ts),
        expired_ts = COALESCE(EXCLUDED.expired_ts, federation_server_keys.expired_ts),
        fetched_ts = EXCLUDED.fetched_ts`;

/** Other servers' signing keys and their last key responses (kept for notary answers). */
@Injectable()
export class ServerKeysRepository {
  constructor(private readonly sql: SqlService) {}

  async get(serverName: string, keyId: string): Promise<ServerKeyRow | null> {
    const row = await this.sql.one<Record<string, string | null>>(
      `SELECT server_name, key_id, verify_key, valid_until_ts, expired_ts, fetched_ts
       FROM federation_server_keys WHERE server_name = $1 AND key_id = $2`,
      [serverName, keyId],
    );
    if (!row) return null;
    return {
      server_name: row.server_name!,
      key_id: row.key_id!,
      verify_key: row.verify_key!,
      valid_until_ts: Number(row.valid_until_ts),
      expired_ts: num(row.expired_ts),
      fetched_ts: Number(row.fetched_ts),
    };
  }

  /** Stores the keys of one verified response, and the response itself unless a longer-lived one is kept. */
  async store(
    serverName: string,
    keys: StoredKey[],
    response: Record<string, unknown>,
    validUntilTs: number,
  ): Promise<void> {
    const now = Date.now();
    await this.sql.transaction(async (tx) => {
      for (const k of keys) {
        await tx.exec(UPSERT_KEY_SQL, [serverName, k.keyId, k.verifyKey, k.validUntilTs, k.expiredTs, now]);
      }
      await tx.exec(
        `INSERT INTO federation_server_key_responses (server_name, response, valid_until_ts, fetched_ts)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (server_name) DO UPDATE
           SET response = EXCLUDED.response, valid_until_ts = EXCLUDED.valid_until_ts, fetched_ts = EXCLUDED.fetched_ts
           WHERE federation_server_key_responses.valid_until_ts <= EXCLUDED.valid_until_ts`,
        [serverName, response, validUntilTs, now],
      );
    });
  }

  async response(
    serverName: string,
  ): Promise<{ response: Record<string, unknown>; valid_until_ts: number } | null> {
    const row = await this.sql.one<{ response: Record<string, unknown>; valid_until_ts: string }>(
      `SELECT response, valid_until_ts FROM federation_server_key_responses WHERE server_name = $1`,
      [serverName],
    );
    return row ? { response: row.response, valid_until_ts: Number(row.valid_until_ts) } : null;
  }
}
