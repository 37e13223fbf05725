import type { FastifyRequest } from 'fastify';

/** A request header as one string (the first, if it was sent more than once). */
export function header(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
