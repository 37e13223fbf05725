import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Job, QueueEvents, type JobState, type Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { MatrixError, type Errcode } from '../common/errors/matrix-error.js';
import {
  JOB_DEFINITIONS,
  QUEUE_NAMES,
  type JobName,
  type JobPayloads,
  type JobResults,
  type QueueName,
} from './job.types.js';
import {
  bullStates,
  decodeMatrixFailure,
  toJobStatus,
  type JobStatus,
  type PublicJobState,
} from './job-status.js';

type Payload<N extends JobName> = JobPayloads[N & keyof JobPayloads];
type Result<N extends JobName> = JobResults[N & keyof JobResults];

export interface StartedJob {
  jobId: string;
  /** True when an identical job was already queued or running and this request joined it. */
  joined: boolean;
}

/** Completed jobs stay visible for a week (and at most 10,000 per queue); failed ones for a month. */
const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 10_000 };
const KEEP_FAILED = { age: 30 * 24 * 3600, count: 10_000 };

/** The only way features start jobs, wait for them, and read their status. */
@Injectable()
export class JobService implements OnApplicationShutdown {
  private readonly queues: Record<QueueName, Queue>;
  private readonly events = new Map<QueueName, Promise<QueueEvents>>();

  constructor(@InjectQueue('admin') admin: Queue, @InjectQueue('federation') federation: Queue) {
    this.queues = { admin, federation } satisfies Record<QueueName, Queue>;
  }

  queue(name: QueueName): Queue {
    return this.queues[name];
  }

  /** Enqueues a job, or joins the identical one already queued or running. */
  async start<N extends JobName>(name: N, payload: Payload<N>): Promise<StartedJob> {
    const def = JOB_DEFINITIONS[name];
    const candidateId = `${def.queue}-${randomUUID()}`;
    const dedupeId = def.dedupe ? def.dedupe(payload as never) : `${name}:${def.target(payload as never)}`;
    const job = await this.queues[def.queue].add(
      String(name),
      { payload, target: def.target(payload as never) },
      {
        jobId: candidateId,
        deduplication: dedupeId ? { id: dedupeId } : undefined,
        attempts: def.attempts ?? 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      },
    );
    return { jobId: job.id!, joined: job.id !== candidateId };
  }

  /** Waits for a job's result; its Matrix error (if it failed with one) is rethrown as is. */
  async waitFor<N extends JobName>(jobId: string, timeoutMs: number): Promise<Result<N>> {
    const queueName = this.queueOf(jobId);
    if (!queueName) throw new MatrixError('M_NOT_FOUND', `No job ${jobId}`);
    const job = await Job.fromId(this.queues[queueName], jobId);
    if (!job) throw new MatrixError('M_NOT_FOUND', `No job ${jobId}`);
    try {
      return (await this.finished(queueName, jobId, timeoutMs)) as Result<N>;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const matrix = decodeMatrixFailure(message);
      if (matrix) throw new MatrixError(matrix.errcode as Errcode, matrix.error, matrix.status);
      if (/timed out/i.test(message)) {
        throw new MatrixError(
          'M_UNKNOWN',
          `Job ${jobId} is still running; follow it at /_lattice/admin/v1/jobs/${jobId}`,
          504,
          {
            job_id: jobId,
          },
        );
      }
      throw new MatrixError('M_UNKNOWN', `Job ${jobId} failed: ${message}`, 500, { job_id: jobId });
    }
  }

  /** Starts (or joins) a job and waits for its result. */
  async run<N extends JobName>(
    name: N,
    payload: Payload<N>,
    timeoutMs: number,
  ): Promise<{ jobId: string; result: Result<N> }> {
    const { jobId } = await this.start(name, payload);
    return { jobId, result: await this.waitFor<N>(jobId, timeoutMs) };
  }

  async status(jobId: string): Promise<JobStatus | null> {
    const queueName = this.queueOf(jobId);
    if (!queueName) return null;
    const queue = this.queues[queueName];
    const job = await Job.fromId(queue, jobId);
    if (!job) return null;
    const [{ job: current, state }, logs] = await Promise.all([
      this.withState(queue, job),
      queue.getJobLogs(jobId, -50, -1),
    ]);
    return toJobStatus(current, state, logs.logs);
  }

  /**
   * The job's state, and its data as of that state: a job read just before it finished, whose state
   * is read just after, would otherwise show as completed without its result.
   */
  private async withState(queue: Queue, job: Job): Promise<{ job: Job; state: JobState | 'unknown' }> {
    const state = await job.getState();
    if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
      const fresh = await Job.fromId(queue, job.id!);
      if (fresh) return { job: fresh, state };
    }
    return { job, state };
  }

  /** Most recent jobs first, optionally of one type and/or state. */
  async list(filter: { type?: string; state?: PublicJobState; limit: number }): Promise<JobStatus[]> {
    const states = filter.state
      ? bullStates(filter.state)
      : (['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'] as const);
    const found: JobStatus[] = [];
    for (const queueName of QUEUE_NAMES) {
      const queue = this.queues[queueName];
      // Read a generous window, then filter by type: BullMQ indexes jobs by state, not by name.
      const jobs = await queue.getJobs([...states], 0, 999, false);
      for (const job of jobs) {
        if (!job || (filter.type && job.name !== filter.type)) continue;
        const { job: current, state } = await this.withState(queue, job);
        found.push(toJobStatus(current, state));
      }
    }
    return found.sort((a, b) => b.created_ts - a.created_ts).slice(0, filter.limit);
  }

  private queueOf(jobId: string): QueueName | undefined {
    return QUEUE_NAMES.find((q) => jobId.startsWith(`${q}-`));
  }

  /**
   * The job's return value once it completes (its failure reason as an error if it fails). The
   * queue's events announce it; the job itself is also checked now and every second, because
   * QueueEvents starts reading its stream from "now" only once its first read reaches Redis, and a
   * job that finishes before that read (a quick job, on a busy machine) would never be announced.
   */
  private finished(queueName: QueueName, jobId: string, timeoutMs: number): Promise<unknown> {
    const queue = this.queues[queueName];
    return new Promise((resolve, reject) => {
      let settled = false;
      // Per-job event names (completed:<id>) are not in BullMQ's typed event map.
      let events: EventEmitter | undefined;
      const completedEvent = `completed:${jobId}`;
      const failedEvent = `failed:${jobId}`;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        clearTimeout(timer);
        events?.off(completedEvent, onCompleted);
        events?.off(failedEvent, onFailed);
        fn();
      };
      const onCompleted = (args: { returnvalue: unknown }) => settle(() => resolve(args.returnvalue));
      const onFailed = (args: { failedReason: string }) => settle(() => reject(new Error(args.failedReason)));
      const check = async () => {
        const state = await queue.getJobState(jobId);
        if (state === 'unknown') return onFailed({ failedReason: `job ${jobId} no longer exists` });
        if (state !== 'completed' && state !== 'failed') return;
        const job = await Job.fromId(queue, jobId);
        if (state === 'completed') onCompleted({ returnvalue: job?.returnvalue ?? null });
        else onFailed({ failedReason: job?.failedReason ?? 'failed' });
      };
      const checkQuietly = () => void check().catch(() => undefined);
      // The deadline and the polling start first: they hold even if the event stream never connects.
      const poll = setInterval(checkQuietly, 1000);
      const timer = setTimeout(
        () => settle(() => reject(new Error(`Job ${jobId} timed out after ${timeoutMs} ms`))),
        timeoutMs,
      );
      // Neither keeps a process alive that is shutting down with a request still waiting.
      poll.unref();
      timer.unref();
      void this.queueEvents(queueName)
        .then((qe) => {
          if (settled) return;
          events = qe as unknown as EventEmitter;
          events.on(completedEvent, onCompleted);
          events.on(failedEvent, onFailed);
          checkQuietly();
        })
        .catch(() => undefined);
      checkQuietly();
    });
  }

  private queueEvents(name: QueueName): Promise<QueueEvents> {
    let events = this.events.get(name);
    if (!events) {
      const queue = this.queues[name];
      const qe = new QueueEvents(name, { connection: queue.opts.connection, prefix: queue.opts.prefix });
      events = qe.waitUntilReady().then(() => qe);
      this.events.set(name, events);
      // A failed connection is not cached: the next wait tries again.
      events.catch(() => {
        this.events.delete(name);
        void qe.close().catch(() => undefined);
      });
    }
    return events;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.events.values()].map((p) => p.then((qe) => qe.close()).catch(() => undefined)),
    );
  }
}
