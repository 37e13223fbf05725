import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { MatrixError } from '../../common/errors/matrix-error.js';
import { userId } from '../../common/matrix/ids.js';
import { AccountsService } from '../../accounts/services/accounts.service.js';
import { ProfileService, type Profile } from '../../accounts/services/profile.service.js';
import { ServerNoticeRoomRepository } from '../repositories/server-notice-room.repository.js';

/**
 * The user server notices come from (`@SERVER_NOTICES_LOCALPART:SERVER_NAME`). At start-up it is
 * created if missing and given the configured display name and avatar; a changed setting is applied
 * then, and the profile change re-sends its member events in the notices rooms.
 */
@Injectable()
export class SystemUserService implements OnApplicationBootstrap {
  private readonly logger = new Logger('ServerNotices');

  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountsService,
    private readonly profiles: ProfileService,
    private readonly rooms: ServerNoticeRoomRepository,
  ) {}

  get userId(): string {
    return userId(this.config.SERVER_NOTICES_LOCALPART, this.config.SERVER_NAME);
  }

  get localpart(): string {
    return this.config.SERVER_NOTICES_LOCALPART;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.SERVER_NOTICES_ENABLED) return;
    // Processes starting together take turns, so a changed name is applied (and announced in the
    // member events) once, by whichever comes first; the others find it already done.
    await this.rooms.withLock('system-user', () => this.ensure());
  }

  private async ensure(): Promise<void> {
    const localpart = this.localpart;
    await this.accounts.ensureSystemAccount(localpart);
    // An account made elsewhere (by SQL, or an older server) may lack its profile row: that is an empty profile.
    const current: Profile = await this.profiles.get(this.userId).catch((err: unknown) => {
      if (err instanceof MatrixError && err.errcode === 'M_NOT_FOUND') return {};
      throw err;
    });
    const displayName = this.config.SERVER_NOTICES_DISPLAY_NAME || null;
    const avatarUrl = this.config.SERVER_NOTICES_AVATAR_URL ?? null;
    if ((current.displayname ?? null) !== displayName) {
      await this.profiles.setDisplayName(localpart, displayName);
      this.logger.log(`Server notices user ${this.userId} now shows as ${JSON.stringify(displayName)}`);
    }
    if ((current.avatar_url ?? null) !== avatarUrl) {
      await this.profiles.setAvatarUrl(localpart, avatarUrl);
      this.logger.log(`Server notices user ${this.userId} now has avatar ${avatarUrl ?? '(none)'}`);
    }
  }
}
