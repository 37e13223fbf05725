import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { DENDRITE_ADMIN } from '../../common/http/prefixes.js';
import { AdminOnly } from '../../accounts/auth/authenticated.decorator.js';
import { RemoteDevicesService } from '../../federation/services/remote-devices.service.js';

/** Dendrite's admin endpoints that act over federation. */
@Controller(DENDRITE_ADMIN)
@AdminOnly()
export class FederationAdminController {
  constructor(private readonly remoteDevices: RemoteDevicesService) {}

  /** POST /_dendrite/admin/refreshDevices/{userID} */
  @Post('refreshDevices/:userId')
  @HttpCode(200)
  async refreshDevices(@Param('userId') userId: string) {
    await this.remoteDevices.refreshNow(userId);
    return {};
  }
}
