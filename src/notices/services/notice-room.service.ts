import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppConfig } from '../../config/app-config.js';
import { MatrixError } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { AccountDataService } from '../../accounts/services/account-data.service.js';
import { EventsPersistedEvent, type EventsPersisted } from '../../rooms/rooms.events.js';
import { MembershipService, SERVER_NOTICE_TAG } from '../../rooms/services/membership.service.js';
import { RoomCreationService } from '../../rooms/services/room-creation.service.js';
import { ServerNoticeRoomRepository } from '../repositories/server-notice-room.repository.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { SystemUserService } from './system-user.service.js';

/** Tag content, as Dendrite writes it. */
const TAG_VALUE = { order: 1 };
/** Well below the pool size (20): each lock holder also needs a second connection for its writes. */
const MAX_LOCK_HOLDERS = 4;

/**
 * Each user's notices room: exactly one per user, created on the first notice (private, not
 * federated, the user at power level -10 so they cannot post), tagged `m.server_notice` in the
 * user's room account data before they are invited (so the invite can never be rejected), and
 * re-used for later notices, with a new invite when the user has left.
 */
@Injectable()
export class NoticeRoomService {
  private readonly logger = new Logger('ServerNotices');
  private readonly lockHolders = new ConcurrencyLimit(MAX_LOCK_HOLDERS);

  constructor(
    private readonly config: AppConfig,
    private readonly system: SystemUserService,
    private readonly rooms: ServerNoticeRoomRepository,
    private readonly creation: RoomCreationService,
    private readonly memberships: MembershipService,
    private readonly accountData: AccountDataService,
  ) {}

  /** The user's notices room, created or re-joined as needed, with the user invited or joined. */
  async ensureRoom(target: string): Promise<string> {
    const known = await this.rooms.find(target);
    if (known && (await this.usable(known)) && (await this.isPresent(known, target))) return known;
    // Creating, replacing or re-inviting: one caller at a time per user, across all processes, so
    // that two first notices sent at once still make a single room.
    return this.lockHolders.run(() =>
      this.rooms.withLock(`user:${target}`, async () => {
        let roomId = await this.rooms.find(target);
        if (!roomId || !(await this.usable(roomId))) roomId = await this.create(target);
        if (!(await this.isPresent(roomId, target))) {
          await this.accountData.setTag(localpartOf(target), roomId, SERVER_NOTICE_TAG, TAG_VALUE);
          await this.memberships.invite(this.system.userId, roomId, target, 'Server notice room');
        }
        return roomId;
      }),
    );
  }

  /**
   * /sync sends a room's account data written before the user joined only in an initial sync, so
   * the tag is written again when the user joins their notices room: their client learns at once
   * that this is the notices room.
   */
  @OnEvent(EventsPersistedEvent, { async: true, promisify: true })
  async onEventsPersisted(batch: EventsPersisted): Promise<void> {
    for (const event of batch.events) {
      const pdu = event.pdu;
      const target = pdu.state_key;
      if (pdu.type !== 'm.room.member' || pdu.content.membership !== 'join' || !target) continue;
      if (event.prev_content?.membership === 'join' || target === this.system.userId) continue;
      if (!target.endsWith(`:${this.config.SERVER_NAME}`)) continue;
      if (!(await this.rooms.isNoticeRoom(target, pdu.room_id))) continue;
      await this.accountData.setTag(localpartOf(target), pdu.room_id, SERVER_NOTICE_TAG, TAG_VALUE);
    }
  }

  /** A room the notices user can still send into: not purged, and the notices user still joined. */
  private async usable(roomId: string): Promise<boolean> {
    try {
      await this.memberships.resolveRoom(roomId);
    } catch (err) {
      if (err instanceof MatrixError && err.errcode === 'M_NOT_FOUND') return false;
      throw err;
    }
    return (await this.memberships.membershipOf(roomId, this.system.userId)) === 'join';
  }

  private async isPresent(roomId: string, target: string): Promise<boolean> {
    const membership = await this.memberships.membershipOf(roomId, target);
    return membership === 'join' || membership === 'invite';
  }

  private async create(target: string): Promise<string> {
    const sender = this.system.userId;
    // Invited separately, after the tag is set, rather than through createRoom's invite list.
    const { room_id: roomId } = await this.creation.createRoom(sender, {
      preset: 'private_chat',
      visibility: 'private',
      name: this.config.SERVER_NOTICES_ROOM_NAME,
      creation_content: { 'm.federate': false },
      power_level_content_override: { users: { [sender]: 100, [target]: -10 } },
    });
    await this.rooms.save(target, roomId);
    this.logger.debug(`Created the server notices room ${roomId} for ${target}`);
    return roomId;
  }
}

function localpartOf(userId: string): string {
  return parseUserId(userId)!.localpart;
}
