import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { M } from '../../common/errors/matrix-error.js';
import { header } from '../../common/http/header.js';
import { AuthService } from '../services/auth.service.js';
import { AUTH_METADATA, type AuthenticatedRequest, type AuthOptions } from './authenticated.decorator.js';
import { isAdmin, isGuest } from './requester.js';

/**
 * Global guard. Routes marked @Authenticated get their caller resolved from the access token:
 * no token 401 M_MISSING_TOKEN, unknown token 401 M_UNKNOWN_TOKEN, guest 403
 * M_GUEST_ACCESS_FORBIDDEN, not admin (on admin routes) 403 M_FORBIDDEN. Never 401 for "not
 * an admin", which would log admin UIs out.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.reflector.getAllAndOverride<AuthOptions | undefined>(AUTH_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!options) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = extractToken(req);
    if (token === undefined) {
      if (options.optional) return true;
      throw M.missingToken();
    }
    const requester = await this.auth.authenticate(
      token,
      req.ip ?? null,
      header(req, 'user-agent') ?? null,
      options.admin === true || options.fresh === true,
    );
    if (!requester) throw M.unknownToken();
    if (isGuest(requester) && !options.allowGuest) throw M.guestForbidden();
    if (options.admin && !isAdmin(requester)) throw M.notAdmin();
    req.requester = requester;
    return true;
  }
}

/** Bearer header or `access_token` query parameter; both at once, or a malformed header, is no token. */
function extractToken(req: AuthenticatedRequest): string | undefined {
  const authorization = header(req, 'authorization');
  const given = (req.query as Record<string, unknown>).access_token;
  const query = typeof given === 'string' ? given : undefined;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match || query !== undefined) return undefined;
    return match[1];
  }
  return query || undefined;
}
