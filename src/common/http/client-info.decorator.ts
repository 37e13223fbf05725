import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { header } from './header.js';

export interface RequestClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** The caller's address (honouring X-Forwarded-For from a local proxy) and user agent. */
export const ClientInfo = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestClientInfo => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest>();
  return { ip: req.ip ?? null, userAgent: header(req, 'user-agent') ?? null };
});
