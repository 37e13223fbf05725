import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, Reflector } from '@nestjs/core';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Subscription } from 'rxjs';
import { AppConfig } from '../config/app-config.js';
import { MatrixError } from '../common/errors/matrix-error.js';
import { JobContext } from './job-context.js';
import { JobService } from './job.service.js';
import { ON_JOB } from './on-job.decorator.js';
import { JOB_DEFINITIONS, QUEUE_CONCURRENCY, QUEUE_NAMES, type JobName } from './job.types.js';
import { encodeMatrixFailure } from './job-status.js';

type Handler = (payload: unknown, ctx: JobContext) => Promise<unknown>;

/**
 * Finds the `@OnJob` handlers at boot (failing when a declared job has none or two) and, in the
 * `all` and `worker` roles, runs BullMQ workers that dispatch to them. In the `all` role they start
 * once the HTTP listener is bound, so a process that is about to exit for want of its port never
 * takes jobs from the queues.
 */
@Injectable()
export class JobWorkerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private readonly handlers = new Map<string, Handler>();
  private readonly workers: Worker[] = [];
  private listening?: Subscription;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly jobs: JobService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    this.discoverHandlers();
    if (!this.config.runsWorkers) return;
    // A worker process (no HTTP adapter) has no listener to wait for.
    if (this.config.runsHttp && this.adapterHost.httpAdapter) {
      this.listening = this.adapterHost.listen$.subscribe(() => this.startWorkers());
    } else {
      this.startWorkers();
    }
  }

  private discoverHandlers(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const name = this.reflector.get<JobName | undefined>(ON_JOB, fn);
        if (!name) continue;
        if (this.handlers.has(String(name))) throw new Error(`Job ${name} has two handlers`);
        this.handlers.set(String(name), (fn as Handler).bind(instance));
      }
    }
    const missing = Object.keys(JOB_DEFINITIONS).filter((n) => !this.handlers.has(n));
    if (missing.length > 0) throw new Error(`Jobs without a handler: ${missing.join(', ')}`);
  }

  private startWorkers(): void {
    for (const queueName of QUEUE_NAMES) {
      const queue = this.jobs.queue(queueName);
      const worker = new Worker(queueName, (job) => this.process(job), {
        connection: queue.opts.connection,
        prefix: queue.opts.prefix,
        concurrency: QUEUE_CONCURRENCY[queueName],
        // A killed worker's job is picked up again after lockDuration + stalledInterval (~15 s).
        lockDuration: 10_000,
        stalledInterval: 5_000,
        maxStalledCount: 10,
      });
      worker.on('failed', (job, err) =>
        this.logger.warn(`Job ${job?.name} ${job?.id} failed: ${err.message}`),
      );
      worker.on('error', (err) => this.logger.error(`Worker error on queue ${queueName}: ${err.message}`));
      this.workers.push(worker);
    }
    this.logger.log(`Workers running for queues: ${QUEUE_NAMES.join(', ')}`);
  }

  private async process(job: Job): Promise<unknown> {
    const handler = this.handlers.get(job.name);
    if (!handler) throw new UnrecoverableError(`No handler for job ${job.name}`);
    const ctx = new JobContext(job, new Logger(job.name));
    try {
      return await handler((job.data as { payload: unknown }).payload, ctx);
    } catch (err) {
      // A Matrix error is a verdict (room not found, remote refused), not a glitch: do not retry it.
      if (err instanceof MatrixError) {
        throw new UnrecoverableError(encodeMatrixFailure(err.errcode, err.message, err.status));
      }
      throw err;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.listening?.unsubscribe();
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
