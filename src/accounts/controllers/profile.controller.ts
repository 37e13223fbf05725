import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../auth/authenticated.decorator.js';
import type { Requester } from '../auth/requester.js';
import { AvatarUrlDto, DisplayNameDto } from '../dto/profile.dto.js';
import { ProfileService } from '../services/profile.service.js';

@Controller(CLIENT_PREFIXES)
export class ProfileController {
  constructor(private readonly profiles: ProfileService) {}

  /** GET /_matrix/client/v3/profile/{userId} */
  @Get('profile/:userId')
  get(@Param('userId') userId: string) {
    return this.profiles.get(userId);
  }

  /** GET /_matrix/client/v3/profile/{userId}/displayname */
  @Get('profile/:userId/displayname')
  async getDisplayName(@Param('userId') userId: string) {
    const { displayname } = await this.profiles.get(userId);
    if (displayname === undefined) throw M.notFound('No display name set');
    return { displayname };
  }

  /** PUT /_matrix/client/v3/profile/{userId}/displayname */
  @Put('profile/:userId/displayname')
  @Authenticated({ allowGuest: true })
  async setDisplayName(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Body() body: DisplayNameDto,
  ) {
    if (userId !== caller.userId) throw M.forbidden("Cannot set another user's display name");
    // The spec requires the key; clearing the name is `null` or "".
    if (body.displayname === undefined) throw M.missingParam('displayname is required');
    await this.profiles.setDisplayName(caller.localpart, body.displayname || null);
    return {};
  }

  /** GET /_matrix/client/v3/profile/{userId}/avatar_url */
  @Get('profile/:userId/avatar_url')
  async getAvatarUrl(@Param('userId') userId: string) {
    const { avatar_url } = await this.profiles.get(userId);
    if (avatar_url === undefined) throw M.notFound('No avatar set');
    return { avatar_url };
  }

  /** PUT /_matrix/client/v3/profile/{userId}/avatar_url */
  @Put('profile/:userId/avatar_url')
  @Authenticated({ allowGuest: true })
  async setAvatarUrl(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Body() body: AvatarUrlDto,
  ) {
    if (userId !== caller.userId) throw M.forbidden("Cannot set another user's avatar");
    await this.profiles.setAvatarUrl(caller.localpart, body.avatar_url || null);
    return {};
  }
}
