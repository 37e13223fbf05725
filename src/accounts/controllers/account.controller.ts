import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../auth/authenticated.decorator.js';
import { isGuest, type Requester } from '../auth/requester.js';
import { ChangePasswordDto } from '../dto/login.dto.js';
import { LoginService } from '../services/login.service.js';

@Controller(CLIENT_PREFIXES)
export class AccountController {
  constructor(private readonly login: LoginService) {}

  /** GET /_matrix/client/v3/account/whoami */
  @Get('account/whoami')
  @Authenticated({ allowGuest: true })
  whoami(@Caller() caller: Requester) {
    return { user_id: caller.userId, device_id: caller.deviceId, is_guest: isGuest(caller) };
  }

  /** POST /_matrix/client/v3/account/password */
  @Post('account/password')
  @HttpCode(200)
  @Authenticated()
  async changePassword(@Caller() caller: Requester, @Body() body: ChangePasswordDto) {
    await this.login.changePassword(caller, body);
    return {};
  }
}
