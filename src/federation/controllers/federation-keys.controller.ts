import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { FederationAuthGuard } from '../auth/federation-auth.guard.js';
import { KeysClaimDto, KeysQueryDto } from '../dto/keys.dto.js';
import { E2eKeysService } from '../services/e2e-keys.service.js';

/** Device lists and end-to-end keys of our users, for other servers (X-Matrix signed requests). */
@Controller('_matrix/federation/v1/user')
@UseGuards(FederationAuthGuard)
export class FederationKeysController {
  constructor(private readonly keys: E2eKeysService) {}

  /** GET /_matrix/federation/v1/user/devices/{userId} */
  @Get('devices/:userId')
  devices(@Param('userId') userId: string) {
    return this.keys.federationDevices(userId);
  }

  /** POST /_matrix/federation/v1/user/keys/query */
  @Post('keys/query')
  @HttpCode(200)
  query(@Body() body: KeysQueryDto) {
    return this.keys.federationQuery(body.device_keys);
  }

  /** POST /_matrix/federation/v1/user/keys/claim */
  @Post('keys/claim')
  @HttpCode(200)
  claim(@Body() body: KeysClaimDto) {
    return this.keys.federationClaim(body.one_time_keys);
  }
}
