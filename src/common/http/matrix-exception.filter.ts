import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError, M } from '../errors/matrix-error.js';
import type { RouteTable } from './route-table.js';

/**
 * The one place errors become HTTP answers: MatrixError as is, Nest's routing 404 as M_UNRECOGNIZED
 * (405 when the path exists under another method), other HTTP exceptions mapped by status, and
 * anything else as a logged 500 M_UNKNOWN.
 */
@Catch()
export class MatrixExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly routes: RouteTable) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    const error = this.toMatrixError(exception, req);
    if (reply.sent) return;
    void reply.status(error.status).send(error.toJSON());
  }

  toMatrixError(exception: unknown, req: FastifyRequest): MatrixError {
    const path = req.url.split('?')[0];
    if (exception instanceof MatrixError) {
      if (exception.status >= 500) this.logger.error(`${req.method} ${path}: ${exception.message}`);
      return exception;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404 && isRoutingMiss(exception)) {
        return this.routes.hasOtherMethod(req.method, path) ? M.unrecognized(405) : M.unrecognized(404);
      }
      if (status === 405) return M.unrecognized(405);
      if (status === 413) return M.tooLarge();
      if (status === 401) return M.missingToken();
      if (status === 403) return M.forbidden(exception.message);
      if (status === 404) return M.notFound(exception.message);
      if (status < 500) return M.badJson(exception.message);
    }
    this.logger.error(
      `Unhandled error on ${req.method} ${path}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return new MatrixError('M_UNKNOWN', 'Internal server error', 500);
  }
}

function isRoutingMiss(exception: HttpException): boolean {
  const body = exception.getResponse();
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
  return typeof message === 'string' && message.startsWith('Cannot ');
}
