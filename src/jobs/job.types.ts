/**
 * Every background job Lattice runs, declared once: its name, the queue (workload) it runs on,
 * its payload and its result. A feature implements a job by marking one service method with
 * `@OnJob(JobName.X)`; boot fails when a job has no handler or two.
 */
export const QUEUE_NAMES = ['admin', 'federation'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** How many jobs of a queue one worker process runs at once. */
export const QUEUE_CONCURRENCY: Record<QueueName, number> = { admin: 4, federation: 8 };

export enum JobName {
  /** Every joined local user leaves a room (POST /_dendrite/admin/evacuateRoom). */
  AdminEvacuateRoom = 'AdminEvacuateRoom',
  /** A local user leaves every room and rejects every invite (POST /_dendrite/admin/evacuateUser). */
  AdminEvacuateUser = 'AdminEvacuateUser',
  /** Deletes everything a hidden room left behind, in batches (POST /_dendrite/admin/purgeRoom). */
  AdminPurgeRoom = 'AdminPurgeRoom',
  /** Fetch a remote user's devices and keys from their server (refreshDevices, device-list updates). */
  FederationRefreshDevices = 'FederationRefreshDevices',
  /** Send a server notice to every active local user (POST /_lattice/admin/v1/server_notices/broadcast). */
  ServerNoticeBroadcast = 'ServerNoticeBroadcast',
  /** Rebuild the full-text search index from the events (GET/POST /_dendrite/admin/fulltext/reindex). */
  SearchReindex = 'SearchReindex',
}

/** Payload of each job. */
export interface JobPayloads {
  [JobName.AdminEvacuateRoom]: { roomId: string };
  [JobName.AdminEvacuateUser]: { userId: string };
  [JobName.AdminPurgeRoom]: { roomId: string };
  [JobName.FederationRefreshDevices]: { userId: string };
  [JobName.ServerNoticeBroadcast]: {
    content: Record<string, unknown>;
    type?: string;
    stateKey?: string;
    /** Digest of the notice: the same broadcast requested again while it runs joins it. */
    digest: string;
  };
  [JobName.SearchReindex]: Record<string, never>;
}

/** What each job's handler returns (kept as the job's result). */
export interface JobResults {
  [JobName.AdminEvacuateRoom]: { affected: string[] };
  [JobName.AdminEvacuateUser]: { affected: string[] };
  [JobName.AdminPurgeRoom]: { events: number; rows: number; seconds: number };
  [JobName.FederationRefreshDevices]: { devices: number; changed: boolean };
  [JobName.ServerNoticeBroadcast]: { sent: number; failed: number; total: number };
  [JobName.SearchReindex]: { indexed: number; seconds: number };
}

export interface JobDefinition<N extends JobName> {
  queue: QueueName;
  /** What the job acts on, shown in job status (a room ID, a user ID, "all users"...). */
  target: (payload: JobPayloads[N & keyof JobPayloads]) => string;
  /** Whether a repeated request while this job is queued or running joins it (the default) or starts another. */
  dedupe?: (payload: JobPayloads[N & keyof JobPayloads]) => string | undefined;
  attempts?: number;
}

export const JOB_DEFINITIONS: { [N in JobName]: JobDefinition<N> } = {
  // The admin jobs join a running job for the same target (the default deduplication).
  [JobName.AdminEvacuateRoom]: { queue: 'admin', target: (p) => p.roomId },
  [JobName.AdminEvacuateUser]: { queue: 'admin', target: (p) => p.userId },
  [JobName.AdminPurgeRoom]: { queue: 'admin', target: (p) => p.roomId, attempts: 10 },
  [JobName.FederationRefreshDevices]: {
    queue: 'federation',
    target: (p) => p.userId,
    // One fetch per user at a time: a refresh requested while one runs waits for that one.
    dedupe: (p) => `refresh-devices:${p.userId}`,
    attempts: 3,
  },
  [JobName.ServerNoticeBroadcast]: {
    queue: 'admin',
    target: () => 'all local users',
    dedupe: (p) => `server-notice-broadcast:${p.digest}`,
    attempts: 10,
  },
  // One rebuild at a time: a reindex requested while one runs joins it.
  [JobName.SearchReindex]: { queue: 'admin', target: () => 'all events', dedupe: () => 'search-reindex' },
};
