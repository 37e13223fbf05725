import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

export interface ProfileRow {
  display_name: string | null;
  avatar_url: string | null;
}

@Injectable()
export class ProfileRepository {
  constructor(private readonly sql: SqlService) {}

  get(localpart: string, serverName: string): Promise<ProfileRow | null> {
    return this.sql.one<ProfileRow>(
      `SELECT display_name, avatar_url FROM userapi_profiles WHERE localpart = $1 AND server_name = $2`,
      [localpart, serverName],
    );
  }

  async setDisplayName(localpart: string, serverName: string, displayName: string | null): Promise<void> {
    await this.sql.exec(
      `INSERT INTO userapi_profiles (localpart, server_name, display_name) VALUES ($1, $2, $3)
       ON CONFLICT (localpart, server_name) DO UPDATE SET display_name = EXCLUDED.display_name`,
      [localpart, serverName, displayName],
    );
  }

  async setAvatarUrl(localpart: string, serverName: string, avatarUrl: string | null): Promise<void> {
    await this.sql.exec(
      `INSERT INTO userapi_profiles (localpart, server_name, avatar_url) VALUES ($1, $2, $3)
       ON CONFLICT (localpart, server_name) DO UPDATE SET avatar_url = EXCLUDED.avatar_url`,
      [localpart, serverName, avatarUrl],
    );
  }
}
