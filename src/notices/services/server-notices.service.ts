import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ServerNoticeRoomRepository } from '../repositories/server-notice-room.repository.js';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { canonicalJson, isCanonicalizable } from '../../common/crypto/canonical-json.js';
import { requireLocalUserId, userId as toUserId } from '../../common/matrix/ids.js';
import { AccountsService } from '../../accounts/services/accounts.service.js';
import { RoomWriterService } from '../../rooms/services/room-writer.service.js';
import type { JobContext } from '../../jobs/job-context.js';
import { JobService } from '../../jobs/job.service.js';
import { JobName, type JobPayloads, type JobResults } from '../../jobs/job.types.js';
import { OnJob } from '../../jobs/on-job.decorator.js';
import { forEachParallel } from './concurrency-limit.js';
import { NoticeRoomService } from './notice-room.service.js';
import { SystemUserService } from './system-user.service.js';

/** A notice: `m.room.message` unless another type (and a state key, for a state event) is given. */
export interface ServerNotice {
  content: Record<string, unknown>;
  type?: string;
  stateKey?: string;
}

/** Who sent a PUT, so that the transaction ID is theirs alone (as a client's is its device's). */
export interface NoticeTransaction {
  userId: string;
  deviceId: string;
  txnId: string;
}

interface BroadcastCheckpoint {
  /** The last localpart handled (users go in localpart order). */
  after: string;
  sent: number;
  failed: number;
}

/** Transactions of notices share one scope in room_events' transaction index; the device part says whose they are. */
const TXN_SCOPE = 'server_notice';
const BROADCAST_BATCH = 200;
const BROADCAST_PARALLEL = 4;
const LOG_EVERY = 1000;
const LOGGED_FAILURES = 20;
const MAX_KEY_BYTES = 255;
const MAX_EVENT_BYTES = 65536;

const hasNul = (s: string) => s.includes('\u0000');

/**
 * Types no notice may have, with or without a state key. The server alone manages the notices
 * room's memberships (a member event could make the notices user leave, or kick or join the user);
 * a create event can only be a room's first, and the auth rules would refuse it only once the user's
 * room had been made; a redaction belongs to /redact, as a client's send answers too (M_BAD_JSON).
 */
const REFUSED_TYPES = new Set(['m.room.create', 'm.room.member', 'm.room.redaction']);

const isKey = (value: unknown, minBytes: number): value is string =>
  typeof value === 'string' &&
  Buffer.byteLength(value) >= minBytes &&
  Buffer.byteLength(value) <= MAX_KEY_BYTES &&
  !hasNul(value);

/**
 * What the room writer would refuse, refused before any room is created or invite sent: type and
 * state_key of 1 (0 for the key) to 255 bytes without NUL, integer-only content within an event's size.
 * Shapes are checked here too, not left to the DTO: a broadcast's notice is checked again when its
 * job runs, as it comes back from the queue (maybe queued by an earlier version), and a wrong one
 * must fail the job once rather than be sent to, or fail for, every user.
 */
function checkNotice(notice: ServerNotice): void {
  const { type, stateKey, content } = notice;
  if (type !== undefined && !isKey(type, 1))
    throw M.badJson('type must be a string of 1 to 255 bytes without NUL characters');
  if (type !== undefined && REFUSED_TYPES.has(type))
    throw M.badJson(`A server notice cannot be an event of type ${type}`);
  if (stateKey !== undefined && !isKey(stateKey, 0))
    throw M.badJson('state_key must be a string of at most 255 bytes without NUL characters');
  if (typeof content !== 'object' || content === null || Array.isArray(content))
    throw M.badJson('content must be an object');
  if (!isCanonicalizable(content)) throw M.badJson('content must hold integers only, no floats');
  if (Buffer.byteLength(canonicalJson(content)) > MAX_EVENT_BYTES)
    throw M.tooLarge('The notice is larger than an event may be (64 KiB)');
}

/**
 * Server notices (Synapse's admin API as Dendrite implements it, plus a broadcast to all users):
 * messages from the server's notices user, each user's in their own notices room.
 */
@Injectable()
export class ServerNoticesService {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountsService,
    private readonly system: SystemUserService,
    private readonly noticeRooms: NoticeRoomService,
    private readonly writer: RoomWriterService,
    private readonly jobs: JobService,
    private readonly roomsRepo: ServerNoticeRoomRepository,
  ) {}

  /** The notices user's ID (`@_server:SERVER_NAME` by default). */
  get senderId(): string {
    return this.system.userId;
  }

  /** A purged room is nobody's notices room any more: the next notice creates a new one. */
  forgetRoom(roomId: string): Promise<number> {
    return this.roomsRepo.deleteRoom(roomId);
  }

  /** 400 M_UNKNOWN when SERVER_NOTICES_ENABLED is off. */
  requireEnabled(): void {
    if (!this.config.SERVER_NOTICES_ENABLED)
      throw M.unknown('Server notices are not enabled on this server (SERVER_NOTICES_ENABLED=false)');
  }

  /**
   * POST/PUT /_synapse/admin/v1/send_server_notice: sends one notice and answers its event ID. With
   * a transaction (the PUT form) a repeated request answers the first event instead of sending
   * again, across processes and restarts.
   */
  async send(
    recipient: string,
    notice: ServerNotice,
    txn?: NoticeTransaction,
  ): Promise<{ event_id: string }> {
    this.requireEnabled();
    if (txn && (Buffer.byteLength(txn.txnId) > MAX_KEY_BYTES || hasNul(txn.txnId)))
      throw M.invalidParam('transaction IDs are at most 255 bytes, without NUL characters');
    checkNotice(notice);
    const target = await this.checkRecipient(recipient);
    const key = txn
      ? { device: `${txn.userId}|${txn.deviceId}`, scope: TXN_SCOPE, id: txn.txnId }
      : undefined;
    return { event_id: await this.deliver(target, notice, key) };
  }

  /** POST /_lattice/admin/v1/server_notices/broadcast: starts (or joins the identical running) broadcast job. */
  async startBroadcast(notice: ServerNotice): Promise<{ job_id: string }> {
    this.requireEnabled();
    checkNotice(notice);
    const content = { ...notice.content };
    const payload: JobPayloads[JobName.ServerNoticeBroadcast] = {
      content,
      ...(notice.type !== undefined ? { type: notice.type } : {}),
      ...(notice.stateKey !== undefined ? { stateKey: notice.stateKey } : {}),
      digest: '',
    };
    payload.digest = createHash('sha256')
      .update(canonicalJson({ content, type: notice.type ?? null, state_key: notice.stateKey ?? null }))
      .digest('hex');
    const { jobId } = await this.jobs.start(JobName.ServerNoticeBroadcast, payload);
    return { job_id: jobId };
  }

  /**
   * The broadcast job: every active local user in localpart order, in batches, a few users at a
   * time. The checkpoint after each batch lets a retry resume; each user's notice carries a
   * transaction derived from the job, so users of a half-done batch are not sent it twice.
   */
  @OnJob(JobName.ServerNoticeBroadcast)
  async runBroadcast(
    payload: JobPayloads[JobName.ServerNoticeBroadcast],
    ctx: JobContext<BroadcastCheckpoint>,
  ): Promise<JobResults[JobName.ServerNoticeBroadcast]> {
    this.requireEnabled();
    const notice: ServerNotice = { content: payload.content, type: payload.type, stateKey: payload.stateKey };
    checkNotice(notice);
    const progress: BroadcastCheckpoint = { after: '', sent: 0, failed: 0, ...ctx.checkpoint };
    // The notices user is an active account too, but never a recipient.
    let total = Math.max((await this.accounts.countActiveUsers()) - 1, 0);
    const done = () => progress.sent + progress.failed;
    await ctx.log(
      progress.after === ''
        ? `Sending a server notice to ${total} users`
        : `Resuming the server notice after ${progress.after} (${done()} of ${total} users done)`,
    );

    for (;;) {
      const batch = await this.accounts.listActiveUserLocalparts(progress.after, BROADCAST_BATCH);
      if (batch.length === 0) break;
      await forEachParallel(batch, BROADCAST_PARALLEL, async (localpart) => {
        if (localpart === this.system.localpart) return;
        const target = toUserId(localpart, this.config.SERVER_NAME);
        let failure: MatrixError | undefined;
        try {
          await this.deliver(target, notice, { device: `broadcast|${ctx.id}`, scope: TXN_SCOPE, id: target });
          progress.sent += 1;
        } catch (err) {
          // A verdict about this user (e.g. refused by the room's rules) must not stop the others;
          // anything else (the database gone) fails the attempt, and the retry resumes.
          if (!(err instanceof MatrixError)) throw err;
          progress.failed += 1;
          failure = err;
        }
        const count = done();
        if (failure && progress.failed <= LOGGED_FAILURES)
          await ctx.log(
            `Could not send the server notice to ${target}: ${failure.errcode} ${failure.message}`,
          );
        if (count % LOG_EVERY === 0)
          await ctx.log(`Server notice: ${count} of ${total} users done (${progress.failed} failed)`);
      });
      progress.after = batch[batch.length - 1];
      total = Math.max(total, done());
      await ctx.saveCheckpoint(progress);
      await ctx.progress(done(), total);
    }
    await ctx.progress(done(), Math.max(total, done()), true);
    await ctx.log(`Server notice broadcast finished: ${progress.sent} sent, ${progress.failed} failed`);
    return { sent: progress.sent, failed: progress.failed, total: done() };
  }

  /** A local, existing user other than the notices user, or the Matrix error saying why not. */
  private async checkRecipient(recipient: string): Promise<string> {
    const { localpart } = requireLocalUserId(recipient, this.config.SERVER_NAME, 'Server notices');
    if (recipient === this.system.userId)
      throw M.invalidParam('Server notices cannot be sent to the server notices user');
    if (!(await this.accounts.accountExists(localpart))) throw M.notFound(`User ${recipient} does not exist`);
    return recipient;
  }

  private async deliver(
    target: string,
    notice: ServerNotice,
    txn?: { device: string; scope: string; id: string },
  ): Promise<string> {
    const sender = this.system.userId;
    if (txn) {
      // A repeat does nothing else either: no room created, no invite sent again.
      const earlier = await this.writer.findTransaction(sender, txn);
      if (earlier) return earlier;
    }
    const roomId = await this.noticeRooms.ensureRoom(target);
    const { events } = await this.writer.send(roomId, [
      {
        type: notice.type ?? 'm.room.message',
        ...(notice.stateKey !== undefined ? { stateKey: notice.stateKey } : {}),
        content: { ...notice.content },
        sender,
        ...(txn ? { txn } : {}),
      },
    ]);
    return events[0].event_id;
  }
}
