import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { DENDRITE_ADMIN } from '../../common/http/prefixes.js';
import { AdminOnly } from '../../accounts/auth/authenticated.decorator.js';
import { AccountsService } from '../../accounts/services/accounts.service.js';
import { ResetPasswordDto } from '../dto/reset-password.dto.js';

/** Dendrite's admin API (paths, methods and success bodies as Dendrite documents them). */
@Controller(DENDRITE_ADMIN)
@AdminOnly()
export class DendriteAdminController {
  constructor(private readonly accounts: AccountsService) {}

  /** POST /_dendrite/admin/resetPassword/{userID} */
  @Post('resetPassword/:userId')
  @HttpCode(200)
  async resetPassword(@Param('userId') userId: string, @Body() body: ResetPasswordDto) {
    await this.accounts.resetPassword(userId, body.password, body.logout_devices ?? false);
    return { password_updated: true };
  }
}
