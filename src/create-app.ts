import { Logger as NestLogger, type INestApplication, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './database/data-source-options.js';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { bodyParserErrorHandler, jsonBodyParser, requireObjectBody } from './common/http/body-parser.js';
import { MatrixExceptionFilter } from './common/http/matrix-exception.filter.js';
import { RouteTable } from './common/http/route-table.js';
import { matrixValidationPipe } from './common/http/validation.pipe.js';
import type { AppConfig } from './config/app-config.js';
import { runMigrationsLocked } from './database/migration-runner.js';
import { QuietLogger } from './common/quiet-logger.js';
import { requestLog } from './common/http/request-log.middleware.js';
import { PinoLogger } from 'nestjs-pino';

/** Builds the HTTP application (roles `all` and `api`): migrations applied, Matrix error handling, CORS. Not yet listening. */
export async function createHttpApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<INestApplication> {
  const applied = await migrate(config);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(QuietLogger));
  logMigrations(applied);
  app.set('trust proxy', 'loopback');
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.use(requestLog(await app.resolve(PinoLogger)));
  app.enableCors({
    origin: '*',
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['X-Requested-With', 'Content-Type', 'Authorization'],
    optionsSuccessStatus: 200,
  });
  app.use(jsonBodyParser, bodyParserErrorHandler, requireObjectBody);
  const routes = new RouteTable();
  app.useGlobalFilters(new MatrixExceptionFilter(routes));
  app.useGlobalPipes(matrixValidationPipe);
  await app.init();
  routes.capture(app);
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
