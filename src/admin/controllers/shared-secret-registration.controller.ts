import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { SYNAPSE_ADMIN_V1 } from '../../common/http/prefixes.js';
import { SharedSecretEnabledGuard } from '../guards/shared-secret-enabled.guard.js';
import { SharedSecretRegisterDto } from '../dto/shared-secret-register.dto.js';
import { SharedSecretRegistrationService } from '../services/shared-secret-registration.service.js';

/** Authenticated by the shared secret itself, not by an access token. */
@Controller(SYNAPSE_ADMIN_V1)
@UseGuards(SharedSecretEnabledGuard)
export class SharedSecretRegistrationController {
  constructor(private readonly registration: SharedSecretRegistrationService) {}

  /** GET /_synapse/admin/v1/register */
  @Get('register')
  nonce() {
    return this.registration.newNonce();
  }

  /** POST /_synapse/admin/v1/register */
  @Post('register')
  @HttpCode(200)
  register(@Body() body: SharedSecretRegisterDto) {
    return this.registration.register(body);
  }
}
