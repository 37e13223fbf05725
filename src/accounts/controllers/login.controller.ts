import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ClientInfo, type RequestClientInfo } from '../../common/http/client-info.decorator.js';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../auth/authenticated.decorator.js';
import type { Requester } from '../auth/requester.js';
import { LoginDto } from '../dto/login.dto.js';
import { AccountsService } from '../services/accounts.service.js';
import { LoginService } from '../services/login.service.js';

@Controller(CLIENT_PREFIXES)
export class LoginController {
  constructor(
    private readonly login: LoginService,
    private readonly accounts: AccountsService,
  ) {}

  /** GET /_matrix/client/v3/login */
  @Get('login')
  flows() {
    return { flows: [{ type: 'm.login.password' }] };
  }

  /** POST /_matrix/client/v3/login */
  @Post('login')
  @HttpCode(200)
  signIn(@Body() body: LoginDto, @ClientInfo() client: RequestClientInfo) {
    return this.login.login(body, client);
  }

  /** POST /_matrix/client/v3/logout */
  @Post('logout')
  @HttpCode(200)
  @Authenticated({ allowGuest: true })
  async logout(@Caller() caller: Requester) {
    await this.accounts.logout(caller);
    return {};
  }

  /** POST /_matrix/client/v3/logout/all */
  @Post('logout/all')
  @HttpCode(200)
  @Authenticated({ allowGuest: true })
  async logoutAll(@Caller() caller: Requester) {
    await this.accounts.logoutAll(caller);
    return {};
  }
}
