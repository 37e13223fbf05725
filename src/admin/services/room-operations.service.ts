import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { AccountDataService } from '../../accounts/services/account-data.service.js';
import { JobContext } from '../../jobs/job-context.js';
import { JobService } from '../../jobs/job.service.js';
import { OnJob } from '../../jobs/on-job.decorator.js';
import { JobName } from '../../jobs/job.types.js';
import { RoomAdminService } from '../../rooms/services/room-admin.service.js';
import { SearchService } from '../../search/services/search.service.js';
import { ServerNoticesService } from '../../notices/services/server-notices.service.js';

/**
 * An evacuation answers with its result, so the request waits; past this it answers 504 with the
 * job ID (the job goes on). Under the 60 s after which common reverse proxies (nginx's default
 * proxy_read_timeout) give up with a 504 of their own, which would not carry the job ID.
 */
const EVACUATE_WAIT_MS = 50_000;
/**
 * Rows per purge transaction: short enough that other requests never wait long on a lock (the
 * locks are the purged room's own rows, which nothing else writes). On a 1,000,000-event room a
 * step of this many events takes ~0.08 s to delete their search-index rows and ~0.04 s for the
 * events (the two overlap, see runPurgeRoom); 5000 made four times the round trips and commits for
 * no shorter total.
 */
const PURGE_BATCH = 20_000;
/** Evacuations log at most this often; a purge logs after every step (PURGE_BATCH events). */
const LOG_EVERY = 1000;

export interface JobAnswer<T> {
  jobId: string;
  result: T;
}

/**
 * evacuateRoom, evacuateUser and purgeRoom as durable BullMQ jobs. Each handler is idempotent and
 * resumes from its checkpoint, so a worker killed mid-job loses nothing when the job is retried.
 */
@Injectable()
export class RoomOperationsService {
  private readonly logger = new Logger('RoomOperations');

  constructor(
    private readonly config: AppConfig,
    private readonly jobs: JobService,
    private readonly rooms: RoomAdminService,
    private readonly accountData: AccountDataService,
    private readonly search: SearchService,
    private readonly notices: ServerNoticesService,
  ) {}

  /** POST /_dendrite/admin/evacuateRoom/{roomID} */
  async evacuateRoom(roomId: string): Promise<JobAnswer<{ affected: string[] }>> {
    this.rooms.requireRoomId(roomId);
    if ((await this.rooms.lifecycle(roomId)) !== 'active') throw M.notFound('room does not exist');
    return this.jobs.run(JobName.AdminEvacuateRoom, { roomId }, EVACUATE_WAIT_MS);
  }

  /** POST /_dendrite/admin/evacuateUser/{userID} */
  async evacuateUser(userId: string): Promise<JobAnswer<{ affected: string[] }>> {
    const parsed = parseUserId(userId);
    if (!parsed) throw M.invalidParam(`'${userId}' is not a valid user ID`);
    if (parsed.serverName !== this.config.SERVER_NAME)
      throw M.invalidParam('can only evacuate local users using this endpoint');
    return this.jobs.run(JobName.AdminEvacuateUser, { userId }, EVACUATE_WAIT_MS);
  }

  /** POST /_dendrite/admin/purgeRoom/{roomID}: hidden at once, deleted by the job. */
  async purgeRoom(roomId: string): Promise<{ jobId: string }> {
    this.rooms.requireRoomId(roomId);
    const state = await this.rooms.lifecycle(roomId);
    if (state === 'absent') throw M.notFound('room does not exist');
    if (state === 'active') {
      this.logger.warn(
        `Purging room ${roomId}: hidden from clients now, deleting its data in the background`,
      );
      await this.rooms.markPurged(roomId);
    }
    // Purging already: join (or restart) the job that removes what is left.
    return this.jobs.start(JobName.AdminPurgeRoom, { roomId });
  }

  @OnJob(JobName.AdminEvacuateRoom)
  async runEvacuateRoom({ roomId }: { roomId: string }, ctx: JobContext<{ members: string[] }>) {
    let members = ctx.checkpoint.members;
    if (!members) {
      if ((await this.rooms.lifecycle(roomId)) !== 'active') throw M.notFound('room does not exist');
      members = await this.rooms.joinedLocalMembers(roomId);
      await ctx.saveCheckpoint({ members });
    }
    const total = members.length;
    await ctx.log(`Evacuating room ${roomId}: ${total} local members`);
    const started = Date.now();
    let logged = 0;
    await this.rooms.leaveAll(roomId, members, async (done) => {
      await ctx.progress(done, total);
      if (done - logged >= LOG_EVERY || done === total) {
        logged = done;
        await ctx.log(`Evacuated ${done}/${total} members of ${roomId}`);
      }
    });
    await ctx.progress(total, total, true);
    await ctx.log(`Evacuated room ${roomId}: ${total} members in ${seconds(started)}s`);
    return { affected: members };
  }

  @OnJob(JobName.AdminEvacuateUser)
  async runEvacuateUser({ userId }: { userId: string }, ctx: JobContext<{ rooms: string[] }>) {
    let rooms = ctx.checkpoint.rooms;
    if (!rooms) {
      const { joined, invited } = await this.rooms.roomsOfUser(userId);
      rooms = [...joined, ...invited];
      await ctx.saveCheckpoint({ rooms });
    }
    await ctx.log(`Evacuating user ${userId}: ${rooms.length} rooms`);
    for (let i = 0; i < rooms.length; i++) {
      await this.rooms.leaveRoom(userId, rooms[i]);
      await ctx.progress(i + 1, rooms.length);
      if ((i + 1) % LOG_EVERY === 0) await ctx.log(`Evacuated ${userId} from ${i + 1}/${rooms.length} rooms`);
    }
    await ctx.progress(rooms.length, rooms.length, true);
    return { affected: rooms };
  }

  @OnJob(JobName.AdminPurgeRoom)
  async runPurgeRoom(
    { roomId }: { roomId: string },
    ctx: JobContext<{ total: number; events: number; rows: number }>,
  ) {
    const started = Date.now();
    const lifecycle = await this.rooms.lifecycle(roomId);
    if (lifecycle === 'absent') {
      // A retry after the last step had already run: nothing is left to do.
      return { events: ctx.checkpoint.events ?? 0, rows: ctx.checkpoint.rows ?? 0, seconds: 0 };
    }
    if (lifecycle === 'active') await this.rooms.markPurged(roomId);
    // A checkpoint means an earlier run (killed, or failed and retried) got this far.
    const resuming = ctx.checkpoint.total !== undefined;
    const remaining = await this.rooms.countEvents(roomId);
    // On a retry after a crash, what is gone is what is no longer there (the last batch before the
    // crash may have been deleted without its checkpoint being saved).
    const total = ctx.checkpoint.total ?? remaining;
    let events = total - remaining;
    let rows = ctx.checkpoint.rows ?? 0;
    await ctx.saveCheckpoint({ total, events, rows });
    await ctx.log(
      !resuming
        ? `Purging room ${roomId}: ${total} events`
        : `Resuming the purge of ${roomId}: ${remaining} of ${total} events left`,
    );

    // What other modules keep about the room goes first; the room's own tables, events last.
    const accountData = await this.accountData.deleteForRoom(roomId);
    const noticeRooms = await this.notices.forgetRoom(roomId);
    rows += accountData + noticeRooms;
    await ctx.log(
      `Removed ${accountData} account-data rows and ${noticeRooms} notices-room records of ${roomId}`,
    );
    rows += await this.rooms.purgeRoomRows(roomId, PURGE_BATCH);
    // The events, a step at a time. A step's search-index rows go first (the index finds a room's
    // rows through its events, so none may outlive them); that walk of the room's next events also
    // fixes the step's stream range. The index rows of the next step are deleted on one connection
    // while this step's events are on another: two PostgreSQL backends at work, and still no index
    // row outlives its event. After a crash anywhere, the retry walks the remaining events again.
    let searchRows = 0;
    let cursor = 0;
    let step = await this.search.deleteRoomBatch(roomId, cursor, PURGE_BATCH);
    while (step) {
      const [n, next] = await settled(
        this.rooms.purgeEvents(roomId, cursor, step.last),
        this.search.deleteRoomBatch(roomId, step.last, PURGE_BATCH),
      );
      searchRows += step.deleted;
      rows += step.deleted + n;
      events += n;
      cursor = step.last;
      step = next;
      await ctx.saveCheckpoint({ total, events, rows });
      await ctx.progress(events, total);
      await ctx.log(`Purged ${events}/${total} events of ${roomId}`);
    }
    await ctx.log(`Removed ${searchRows} search-index rows of ${roomId}`);
    await this.rooms.deleteRoomRow(roomId);
    await ctx.progress(total, total, true);
    const took = seconds(started);
    await ctx.log(`Purged room ${roomId}: ${events} events in ${took}s`);
    return { events, rows, seconds: Number(took) };
  }
}

/**
 * Both results once both have settled, or the first failure: a failed step never leaves the other
 * statement running behind the job's retry.
 */
async function settled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
