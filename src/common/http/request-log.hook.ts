import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';

/**
 * An access token given as a query parameter is a credential: never written to the log, however
 * its name is percent-encoded (`access%5Ftoken` is read as `access_token` too).
 */
export function redactToken(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      const name = eq < 0 ? param : param.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // not valid percent-encoding: compared as it is
      }
      return decoded === 'access_token' ? `${name}=[redacted]` : param;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/** Writes the line for one finished request (see registerRequestLog). */
export type RequestLogLine = (req: FastifyRequest, status: number, elapsedMs: number) => void;

/**
 * One line per finished request, at the level its outcome deserves: a failure of the server (5xx)
 * is an error, a refused request (4xx) is information, a success is debug detail. Above `info`
 * nothing is done per request at all (server failures are logged with their cause by
 * MatrixExceptionFilter anyway). pino-http, which this replaced, gave every request a child logger
 * and an async context whatever the level: measured, about a sixth of the server's CPU under a send
 * load.
 */
export function requestLogLine(log: PinoLogger): RequestLogLine {
  const logger = log.logger;
  return (req, status, elapsedMs) => {
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    // Flat fields: pino's standard req/res serializers expect Node's own request objects.
    logger[level](
      {
        method: req.method,
        url: redactToken(req.url),
        status,
        ip: req.ip,
        responseTime: Math.round(elapsedMs),
      },
      status >= 500 ? 'request errored' : 'request completed',
    );
  };
}

/**
 * Logs every request Fastify routes, from an onResponse hook, so also those refused before any
 * handler (bad JSON, unknown routes). Requests refused before routing are logged by their handler
 * (see createHttpApp's frameworkErrors).
 */
export function registerRequestLog(fastify: FastifyInstance, line: RequestLogLine): void {
  fastify.addHook('onResponse', (req, reply, done) => {
    line(req, reply.statusCode, reply.elapsedTime);
    done();
  });
}
