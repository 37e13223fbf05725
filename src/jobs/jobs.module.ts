import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BullModule } from '@nestjs/bullmq';
import { AppConfig } from '../config/app-config.js';
import { JobService } from './job.service.js';
import { JobWorkerService } from './job-worker.service.js';
import { QUEUE_NAMES } from './job.types.js';

/** BullMQ queues and workers. Holds no feature logic: features declare jobs in job.types.ts and handle them with @OnJob. */
@Global()
@Module({
  imports: [
    DiscoveryModule,
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.REDIS_URL, maxRetriesPerRequest: null },
        prefix: `${config.REDIS_KEY_PREFIX}:bull`,
      }),
    }),
    BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
  ],
  providers: [JobService, JobWorkerService],
  exports: [JobService],
})
export class JobsModule {}
