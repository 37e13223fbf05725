import { Injectable, type CanActivate } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';

/**
 * Without REGISTRATION_SHARED_SECRET the shared-secret endpoint does not exist (as in Dendrite):
 * 404 M_UNRECOGNIZED, decided before the body is validated so that no request shape reveals it.
 */
@Injectable()
export class SharedSecretEnabledGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(): boolean {
    if (!this.config.REGISTRATION_SHARED_SECRET) throw M.unrecognized();
    return true;
  }
}
