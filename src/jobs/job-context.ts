import type { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';

/**
 * What a handler gets besides its payload: progress reporting, a log that shows in the job's
 * status, and a checkpoint it can save so a retry after a crash resumes instead of starting over.
 */
export class JobContext<C extends object = Record<string, unknown>> {
  private lastProgressWrite = 0;

  constructor(
    private readonly job: Job,
    private readonly logger: Logger,
  ) {}

  get id(): string {
    return this.job.id!;
  }

  /** Attempts already made before this one (0 on the first run). */
  get attempt(): number {
    return this.job.attemptsMade;
  }

  /** State saved by an earlier attempt, or {}. */
  get checkpoint(): Partial<C> {
    return ((this.job.data as { checkpoint?: Partial<C> }).checkpoint ?? {}) as Partial<C>;
  }

  async saveCheckpoint(checkpoint: Partial<C>): Promise<void> {
    await this.job.updateData({ ...this.job.data, checkpoint });
  }

  /** Records done/total; written at most every 250 ms unless `force`, so tight loops stay cheap. */
  async progress(done: number, total: number, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastProgressWrite < 250 && done < total) return;
    this.lastProgressWrite = now;
    await this.job.updateProgress({ done, total });
  }

  /** Logs through the application logger and into the job's own log (shown by the job-status API). */
  async log(message: string): Promise<void> {
    this.logger.log(message);
    await this.job.log(`${new Date().toISOString()} ${message}`);
  }
}
