import { Injectable } from '@nestjs/common';
import { SqlService, type Queryable } from '../../database/sql.service.js';

export const enum AccountType {
  User = 1,
  Guest = 2,
  Admin = 3,
  Appservice = 4,
}

export interface AccountRow {
  localpart: string;
  server_name: string;
  created_ts: string;
  password_hash: string | null;
  is_deactivated: boolean;
  account_type: AccountType;
}

const SELECT_ACCOUNT_SQL = `
  SELECT localpart, server_name, created_ts, password_hash, is_deactivated, account_type
  FROM userapi_accounts WHERE localpart = $1 AND server_name = $2`;

const INSERT_ACCOUNT_SQL = `
  INSERT INTO userapi_accounts (localpart, server_name, created_ts, password_hash, account_type)
  VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT DO NOTHING`;

const INSERT_PROFILE_SQL = `
  INSERT INTO userapi_profiles (localpart, server_name, display_name, avatar_url) VALUES ($1, $2, $3, $4)
  ON CONFLICT (localpart, server_name) DO NOTHING`;

const NEXT_GUEST_LOCALPART_SQL = `
  SELECT COALESCE(MAX(localpart::numeric), 0) + 1 AS next FROM userapi_accounts
  WHERE server_name = $1 AND localpart ~ '^[0-9]{1,30}$'`;

const LIST_ACTIVE_USERS_SQL = `
  SELECT localpart FROM userapi_accounts
  WHERE server_name = $1 AND NOT is_deactivated AND account_type IN (1, 3) AND localpart > $2
  ORDER BY localpart LIMIT $3`;

@Injectable()
export class AccountRepository {
  constructor(private readonly sql: SqlService) {}

  find(localpart: string, serverName: string, db: Queryable = this.sql): Promise<AccountRow | null> {
    return db.one<AccountRow>(SELECT_ACCOUNT_SQL, [localpart, serverName]);
  }

  /** Creates the account and its profile; false when the localpart is taken. */
  async create(
    account: {
      localpart: string;
      serverName: string;
      passwordHash: string | null;
      accountType: AccountType;
      displayName: string | null;
    },
    db: Queryable = this.sql,
  ): Promise<boolean> {
    const inserted = await db.exec(INSERT_ACCOUNT_SQL, [
      account.localpart,
      account.serverName,
      Date.now(),
      account.passwordHash,
      account.accountType,
    ]);
    if (inserted === 0) return false;
    await db.exec(INSERT_PROFILE_SQL, [account.localpart, account.serverName, account.displayName, null]);
    return true;
  }

  /** Creates many accounts (and profiles) sharing one password hash; taken localparts are skipped. Returns how many were created. */
  async createMany(localparts: string[], serverName: string, passwordHash: string): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const created = await tx.exec(
        `INSERT INTO userapi_accounts (localpart, server_name, created_ts, password_hash, account_type)
         SELECT l, $2, $3, $4, 1 FROM unnest($1::text[]) AS l
         ON CONFLICT DO NOTHING`,
        [localparts, serverName, Date.now(), passwordHash],
      );
      await tx.exec(
        `INSERT INTO userapi_profiles (localpart, server_name, display_name)
         SELECT l, $2, l FROM unnest($1::text[]) AS l
         ON CONFLICT DO NOTHING`,
        [localparts, serverName],
      );
      return created;
    });
  }

  async updatePassword(
    localpart: string,
    serverName: string,
    hash: string,
    db: Queryable = this.sql,
  ): Promise<void> {
    await db.exec(
      `UPDATE userapi_accounts SET password_hash = $3 WHERE localpart = $1 AND server_name = $2`,
      [localpart, serverName, hash],
    );
  }

  async nextGuestLocalpart(serverName: string): Promise<string> {
    const row = await this.sql.one<{ next: string }>(NEXT_GUEST_LOCALPART_SQL, [serverName]);
    return String(row!.next);
  }

  /** Local, active accounts of people (not guests or appservices) in localpart order, for fan-out jobs. */
  async listActiveUserLocalparts(
    serverName: string,
    afterLocalpart: string,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.sql.query<{ localpart: string }>(LIST_ACTIVE_USERS_SQL, [
      serverName,
      afterLocalpart,
      limit,
    ]);
    return rows.map((r) => r.localpart);
  }

  async countActiveUsers(serverName: string): Promise<number> {
    const row = await this.sql.one<{ n: string }>(
      `SELECT count(*) AS n FROM userapi_accounts WHERE server_name = $1 AND NOT is_deactivated AND account_type IN (1, 3)`,
      [serverName],
    );
    return Number(row!.n);
  }
}
