import { Injectable, Logger } from '@nestjs/common';
import { userId } from '../../common/matrix/ids.js';
import type { Requester } from '../auth/requester.js';
import { DeviceRepository } from '../repositories/device.repository.js';
import { AccessTokenCache } from './access-token-cache.service.js';
import { hashToken } from './tokens.js';

/** A busy client is recorded at most once a minute, unless its address or user agent changes. */
const LAST_SEEN_THROTTLE_MS = 60_000;

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly devices: DeviceRepository,
    private readonly tokens: AccessTokenCache,
  ) {}

  /**
   * Resolves an access token to its device and account (through the token cache; `fresh` reads
   * the database), recording the connection.
   */
  async authenticate(
    token: string,
    ip: string | null,
    userAgent: string | null,
    fresh = false,
  ): Promise<Requester | null> {
    const hash = hashToken(token);
    const row = await this.tokens.lookup(hash, () => this.devices.findByTokenHash(hash), fresh);
    if (!row || row.is_deactivated) return null;
    const now = Date.now();
    const stale = row.last_seen_ts === null || now - Number(row.last_seen_ts) >= LAST_SEEN_THROTTLE_MS;
    if (stale || row.last_seen_ip !== ip || row.user_agent !== userAgent) {
      // Awaited (the throttle keeps it rare) so that a whois right after a request sees it; a
      // failed write is logged, not turned into a failed request.
      await this.devices.touch(row.session_id, now, ip, userAgent).then(
        () => {
          // The cached row is this process's view of what it last recorded.
          row.last_seen_ts = String(now);
          row.last_seen_ip = ip;
          row.user_agent = userAgent;
        },
        (err: Error) => this.logger.warn(`Could not record last-seen for ${row.device_id}: ${err.message}`),
      );
    }
    return {
      userId: userId(row.localpart, row.server_name),
      localpart: row.localpart,
      serverName: row.server_name,
      deviceId: row.device_id,
      sessionId: row.session_id,
      accountType: row.account_type,
    };
  }
}
