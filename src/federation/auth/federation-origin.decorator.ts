import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FederationRequest } from './federation-auth.guard.js';

/** Injects the verified origin server of a federation request (routes guarded by FederationAuthGuard). */
export const FederationOrigin = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string =>
    ctx.switchToHttp().getRequest<FederationRequest>().federationOrigin!,
);
