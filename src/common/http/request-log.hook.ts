import type { FastifyInstance } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';

/** An access token given as a query parameter is a credential: never written to the log. */
const redactToken = (url: string) => url.replace(/([?&]access_token=)[^&]*/g, '$1[redacted]');

/**
 * One line per finished request, at the level its outcome deserves: a failure of the server (5xx)
 * is an error, a refused request (4xx) is information, a success is debug detail. Above `info`
 * nothing is done per request at all (server failures are logged with their cause by
 * MatrixExceptionFilter anyway). pino-http, which this replaced, gave every request a child logger
 * and an async context whatever the level: measured, about a sixth of the server's CPU under a send
 * load. A Fastify onResponse hook, so it also sees requests refused before any handler (bad JSON,
 * unknown routes).
 */
export function registerRequestLog(fastify: FastifyInstance, log: PinoLogger): void {
  const logger = log.logger;
  fastify.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (logger.isLevelEnabled(level)) {
      // Flat fields: pino's standard req/res serializers expect Node's own request objects.
      logger[level](
        {
          method: req.method,
          url: redactToken(req.url),
          status,
          ip: req.ip,
          responseTime: Math.round(reply.elapsedTime),
        },
        status >= 500 ? 'request errored' : 'request completed',
      );
    }
    done();
  });
}
