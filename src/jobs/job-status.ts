import type { Job, JobState } from 'bullmq';

export type PublicJobState = 'queued' | 'running' | 'completed' | 'failed';
export const PUBLIC_JOB_STATES: readonly PublicJobState[] = ['queued', 'running', 'completed', 'failed'];

/** The job-status document of `GET /_lattice/admin/v1/jobs/{jobId}`. */
export interface JobStatus {
  job_id: string;
  type: string;
  target: string;
  state: PublicJobState;
  progress: { done: number; total: number } | null;
  attempts: number;
  created_ts: number;
  started_ts: number | null;
  finished_ts: number | null;
  result: unknown;
  error: string | null;
  logs?: string[];
}

export function publicState(state: JobState | 'unknown'): PublicJobState {
  switch (state) {
    case 'active':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    default:
      // waiting, delayed (a retry's back-off), prioritized, waiting-children
      return 'queued';
  }
}

export function bullStates(state: PublicJobState): JobState[] {
  switch (state) {
    case 'running':
      return ['active'];
    case 'completed':
      return ['completed'];
    case 'failed':
      return ['failed'];
    case 'queued':
      return ['waiting', 'delayed', 'prioritized', 'waiting-children'];
  }
}

export function toJobStatus(job: Job, state: JobState | 'unknown', logs?: string[]): JobStatus {
  const progress = job.progress as { done?: number; total?: number } | number;
  const data = job.data as { target?: string };
  return {
    job_id: job.id!,
    type: job.name,
    target: data.target ?? '',
    state: publicState(state),
    progress:
      typeof progress === 'object' && progress !== null && typeof progress.done === 'number'
        ? { done: progress.done, total: progress.total ?? progress.done }
        : null,
    attempts: job.attemptsMade,
    created_ts: job.timestamp,
    started_ts: job.processedOn ?? null,
    finished_ts: job.finishedOn ?? null,
    result: job.returnvalue ?? null,
    error: job.failedReason ? describeFailure(job.failedReason) : null,
    ...(logs ? { logs } : {}),
  };
}

const MATRIX_PREFIX = 'matrix:';

/** Job failures that carry a Matrix error travel through BullMQ's failedReason as tagged JSON. */
export function encodeMatrixFailure(errcode: string, error: string, status: number): string {
  return MATRIX_PREFIX + JSON.stringify({ errcode, error, status });
}

export function decodeMatrixFailure(
  reason: string,
): { errcode: string; error: string; status: number } | null {
  if (!reason.startsWith(MATRIX_PREFIX)) return null;
  try {
    return JSON.parse(reason.slice(MATRIX_PREFIX.length)) as {
      errcode: string;
      error: string;
      status: number;
    };
  } catch {
    return null;
  }
}

function describeFailure(reason: string): string {
  const m = decodeMatrixFailure(reason);
  return m ? `${m.errcode}: ${m.error}` : reason;
}
