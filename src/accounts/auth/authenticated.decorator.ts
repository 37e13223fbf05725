import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Requester } from './requester.js';

export const AUTH_METADATA = 'lattice:auth';

export interface AuthOptions {
  /** Only accounts with account_type 3 (403 M_FORBIDDEN otherwise). Implies `fresh`. */
  admin?: boolean;
  /**
   * Reads the token's account from the database rather than the token cache, so that a promotion
   * or demotion by SQL applies at once (routes that grant admins more than other users).
   */
  fresh?: boolean;
  /** Guests may call this route (most client routes refuse them). */
  allowGuest?: boolean;
  /** The route works without a token too; a given token must still be valid. */
  optional?: boolean;
}

/** Requires an access token on a route or controller; see AccessTokenGuard for the answers it gives. */
export const Authenticated = (options: AuthOptions = {}) => SetMetadata(AUTH_METADATA, options);

/** Shorthand for admin-only routes (decision 3 of the design). */
export const AdminOnly = () => Authenticated({ admin: true });

export type AuthenticatedRequest = FastifyRequest & { requester?: Requester };

/** Injects the authenticated caller. */
export const Caller = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Requester =>
    ctx.switchToHttp().getRequest<AuthenticatedRequest>().requester!,
);
