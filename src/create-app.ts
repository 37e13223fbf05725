import { Logger as NestLogger, type INestApplication, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './database/data-source-options.js';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { MAX_BODY_BYTES, registerJsonBody } from './common/http/body-parser.js';
import { MatrixExceptionFilter } from './common/http/matrix-exception.filter.js';
import { MAX_PARAM_LENGTH, RouteTable } from './common/http/route-table.js';
import { M } from './common/errors/matrix-error.js';
import { matrixValidationPipe } from './common/http/validation.pipe.js';
import type { AppConfig } from './config/app-config.js';
import { runMigrationsLocked } from './database/migration-runner.js';
import { QuietLogger } from './common/quiet-logger.js';
import { registerRequestLog, requestLogLine, type RequestLogLine } from './common/http/request-log.hook.js';
import { PinoLogger } from 'nestjs-pino';

/** Builds the HTTP application (roles `all` and `api`): migrations applied, Matrix error handling, CORS. Not yet listening. */
export async function createHttpApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<INestApplication> {
  const applied = await migrate(config);
  // Known once the application (and its logger) exists; the adapter is made before it.
  const requestLog: { line?: RequestLogLine } = {};
  // Fastify rather than Express: its router and request path cost a fraction of Express's per
  // request, measured as about 15% more sends per second on two cores (see README, Benchmarks).
  const adapter = new FastifyAdapter({
    bodyLimit: MAX_BODY_BYTES,
    // Node's defaults, which Fastify changes: an idle keep-alive connection is closed after 5 s
    // (Fastify's 72 s held a shutdown for as long), a request must arrive within 5 minutes.
    keepAliveTimeout: 5_000,
    requestTimeout: 300_000,
    // Requests that arrive while the server shuts down are still served, as they were with Express
    // (Fastify would answer them a bare 503 that is not a Matrix error).
    return503OnClosing: false,
    // X-Forwarded-For is honoured from a reverse proxy on this machine only.
    trustProxy: 'loopback',
    routerOptions: {
      // As clients and reverse proxies expect of a Matrix server: `/path/` is `/path`.
      ignoreTrailingSlash: true,
      maxParamLength: MAX_PARAM_LENGTH,
    },
    // Requests refused before routing (a path that is not valid percent-encoding). No hook runs for
    // them, so the CORS header and the log line are given here; the message does not repeat the
    // request target, which may carry an access token.
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const error =
        err.statusCode === 400
          ? M.invalidParam('The request path is not valid percent-encoding')
          : M.unrecognized(404);
      void reply.status(error.status).header('access-control-allow-origin', '*').send(error.toJSON());
      requestLog.line?.(req, error.status, reply.elapsedTime);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(QuietLogger));
  logMigrations(applied);
  const fastify = app.getHttpAdapter().getInstance();
  requestLog.line = requestLogLine(await app.resolve(PinoLogger));
  registerRequestLog(fastify, requestLog.line);
  registerJsonBody(fastify);
  const routes = RouteTable.recording(fastify);
  app.enableCors({
    origin: '*',
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['X-Requested-With', 'Content-Type', 'Authorization'],
    optionsSuccessStatus: 200,
    // An OPTIONS request that is not a browser's preflight is answered 200 too, as before.
    strictPreflight: false,
  });
  app.useGlobalFilters(new MatrixExceptionFilter(routes));
  app.useGlobalPipes(matrixValidationPipe);
  await app.init();
  await fastify.ready();
  return app;
}

/** Builds a worker process (role `worker`): no HTTP listener, just the job workers. */
export async function createWorkerApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<INestApplicationContext> {
  const applied = await migrate(config);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, options), {
    bufferLogs: true,
  });
  app.useLogger(app.get(QuietLogger));
  logMigrations(applied);
  await app.init();
  return app;
}

/** Migrations run before any module starts, so start-up hooks (the notices system user...) find their tables. */
async function migrate(config: AppConfig): Promise<string[]> {
  // Two connections: one holds the advisory lock while the other runs the migrations.
  const dataSource = new DataSource(dataSourceOptions(config.DATABASE_URL, 2));
  await dataSource.initialize();
  try {
    return await runMigrationsLocked(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Logged once the application logger is in place, so it goes where every other line goes. */
function logMigrations(applied: string[]): void {
  if (applied.length > 0) new NestLogger('Database').log(`Applied migrations: ${applied.join(', ')}`);
}
