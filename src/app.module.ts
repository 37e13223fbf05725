import { Module, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AccountsModule } from './accounts/accounts.module.js';
import { AdminModule } from './admin/admin.module.js';
import { AppController } from './app.controller.js';
import { CommonModule } from './common/common.module.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { FederationModule } from './federation/federation.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { NoticesModule } from './notices/notices.module.js';
import { RoomsModule } from './rooms/rooms.module.js';
import { SearchModule } from './search/search.module.js';
import { SyncModule } from './sync/sync.module.js';
import { QuietLogger } from './common/quiet-logger.js';

export interface AppModuleOptions {
  /** Where logs go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          // The logger only: requests are logged by registerRequestLog (createHttpApp), not pino-http's middleware.
          forRoutes: [],
          pinoHttp: [
            {
              level: config.LOG_LEVEL,
              transport:
                !options.logStream && process.stdout.isTTY
                  ? { target: 'pino-pretty', options: { singleLine: true } }
                  : undefined,
            },
            options.logStream ?? process.stdout,
          ],
        }),
        EventEmitterModule.forRoot(),
        CommonModule,
        DatabaseModule,
        JobsModule,
        AccountsModule,
        FederationModule,
        RoomsModule,
        SyncModule,
        SearchModule,
        NoticesModule,
        AdminModule,
      ],
      controllers: [AppController],
      providers: [QuietLogger],
    };
  }
}
