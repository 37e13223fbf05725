import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseUserId, userId } from '../../common/matrix/ids.js';
import { ProfileChangedEvent, type ProfileChanged } from '../accounts.events.js';
import { ProfileRepository } from '../repositories/profile.repository.js';

export interface Profile {
  displayname?: string;
  avatar_url?: string;
}

@Injectable()
export class ProfileService {
  constructor(
    private readonly config: AppConfig,
    private readonly profiles: ProfileRepository,
    private readonly events: EventEmitter2,
  ) {}

  /** A local user's profile; 404 for unknown or remote users (we do not query other servers' profiles). */
  async get(user: string): Promise<Profile> {
    const parsed = parseUserId(user);
    if (!parsed) throw M.invalidParam(`'${user}' is not a valid user ID`);
    if (parsed.serverName !== this.config.SERVER_NAME) throw M.notFound('Profile not found');
    const row = await this.profiles.get(parsed.localpart, parsed.serverName);
    if (!row) throw M.notFound('Profile not found');
    return {
      ...(row.display_name !== null ? { displayname: row.display_name } : {}),
      ...(row.avatar_url !== null ? { avatar_url: row.avatar_url } : {}),
    };
  }

  async setDisplayName(localpart: string, displayName: string | null): Promise<void> {
    await this.profiles.setDisplayName(localpart, this.config.SERVER_NAME, displayName);
    await this.emitChanged(localpart);
  }

  async setAvatarUrl(localpart: string, avatarUrl: string | null): Promise<void> {
    await this.profiles.setAvatarUrl(localpart, this.config.SERVER_NAME, avatarUrl);
    await this.emitChanged(localpart);
  }

  private async emitChanged(localpart: string): Promise<void> {
    const row = await this.profiles.get(localpart, this.config.SERVER_NAME);
    const event: ProfileChanged = {
      userId: userId(localpart, this.config.SERVER_NAME),
      displayName: row?.display_name ?? null,
      avatarUrl: row?.avatar_url ?? null,
    };
    // emitAsync so that member events are re-sent before the client gets its answer.
    await this.events.emitAsync(ProfileChangedEvent, event);
  }
}
