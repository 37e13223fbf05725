import { Controller, Get, Param } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { CLIENT_PREFIXES, SYNAPSE_ADMIN_V1 } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import { isAdmin, type Requester } from '../../accounts/auth/requester.js';
import { DevicesService } from '../../accounts/services/devices.service.js';

@Controller([...CLIENT_PREFIXES.map((p) => `${p}/admin`), SYNAPSE_ADMIN_V1])
export class WhoisController {
  constructor(private readonly devices: DevicesService) {}

  /** GET /_matrix/client/v3/admin/whois/{userId} (also r0, and /_synapse/admin/v1/whois/{userId}): admin or self */
  @Get('whois/:userId')
  @Authenticated({ fresh: true })
  whois(@Caller() caller: Requester, @Param('userId') userId: string) {
    if (!isAdmin(caller) && caller.userId !== userId)
      throw M.forbidden('userID does not match the current user');
    return this.devices.whois(userId);
  }
}
