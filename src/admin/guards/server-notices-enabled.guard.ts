import { Injectable, type CanActivate } from '@nestjs/common';
import { ServerNoticesService } from '../../notices/services/server-notices.service.js';

/**
 * With SERVER_NOTICES_ENABLED off the notice routes answer 400 M_UNKNOWN saying so, decided before
 * the body is validated so that the answer does not depend on what was sent.
 */
@Injectable()
export class ServerNoticesEnabledGuard implements CanActivate {
  constructor(private readonly notices: ServerNoticesService) {}

  canActivate(): boolean {
    this.notices.requireEnabled();
    return true;
  }
}
