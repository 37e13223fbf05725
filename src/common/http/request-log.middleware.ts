import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PinoLogger } from 'nestjs-pino';

/** An access token given as a query parameter is a credential: never written to the log. */
const redactToken = (url: string) => url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]');

/**
 * One line per finished request, at the level its outcome deserves: a failure of the server (5xx)
 * is an error, a refused request (4xx) is information, a success is debug detail. Above `info`
 * nothing is attached to the request at all (server failures are logged with their cause by
 * MatrixExceptionFilter anyway). pino-http, which this replaces, gave every request a child logger
 * and an async context whatever the level: measured, about a sixth of the server's CPU under a send
 * load. A plain Express middleware, first in the chain, so it also sees requests refused early.
 */
export function requestLog(log: PinoLogger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const logger = log.logger;
    if (!logger.isLevelEnabled('info')) return next();
    const started = performance.now();
    res.once('finish', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
      if (!logger.isLevelEnabled(level)) return;
      // Flat fields: pino's standard req/res serializers expect the live objects.
      logger[level](
        {
          method: req.method,
          url: redactToken(req.originalUrl),
          status,
          ip: req.ip,
          responseTime: Math.round(performance.now() - started),
        },
        status >= 500 ? 'request errored' : 'request completed',
      );
    });
    next();
  };
}
