import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ClientInfo, type RequestClientInfo } from '../../common/http/client-info.decorator.js';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { M } from '../../common/errors/matrix-error.js';
import { RegisterDto } from '../dto/login.dto.js';
import { AccountsService } from '../services/accounts.service.js';
import { LoginService } from '../services/login.service.js';

@Controller(CLIENT_PREFIXES)
export class RegisterController {
  constructor(
    private readonly login: LoginService,
    private readonly accounts: AccountsService,
  ) {}

  /** POST /_matrix/client/v3/register */
  @Post('register')
  @HttpCode(200)
  register(
    @Body() body: RegisterDto,
    @Query('kind') kind: string | undefined,
    @ClientInfo() client: RequestClientInfo,
  ) {
    return this.login.register(body, kind, client);
  }

  /** GET /_matrix/client/v3/register/available */
  @Get('register/available')
  async available(@Query('username') username: unknown) {
    if (typeof username !== 'string') throw M.missingParam('username is required');
    const localpart = this.accounts.normalizeLocalpart(username);
    if (!(await this.accounts.isAvailable(localpart))) throw M.userInUse();
    return { available: true };
  }
}
