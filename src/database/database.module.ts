import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { RedisService } from './redis.service.js';
import { SqlService } from './sql.service.js';
import { StreamNotifier } from './stream-notifier.service.js';

/** The PostgreSQL pool (TypeORM DataSource) and Redis connections every module shares. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => dataSourceOptions(config.DATABASE_URL),
    }),
  ],
  providers: [RedisService, SqlService, StreamNotifier],
  exports: [RedisService, SqlService, StreamNotifier],
})
export class DatabaseModule {}
