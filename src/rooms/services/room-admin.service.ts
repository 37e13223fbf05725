import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseRoomId } from '../../common/matrix/ids.js';
import { MembershipRepository } from '../repositories/membership.repository.js';
import {
  PURGE_START,
  PURGED_ROOM_TABLES,
  RoomPurgeRepository,
} from '../repositories/room-purge.repository.js';
import { RoomRepository } from '../repositories/room.repository.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';
import { RoomWriterService, type EventDraft } from './room-writer.service.js';

/** Leaves are written in batches of this many events per transaction. */
const LEAVE_BATCH = 500;

export type RoomLifecycle = 'active' | 'purging' | 'absent';

/** Room operations for server administrators: evacuations and purges, done through the room writer. */
@Injectable()
export class RoomAdminService {
  constructor(
    private readonly config: AppConfig,
    private readonly rooms: RoomRepository,
    private readonly memberships: MembershipRepository,
    private readonly state: RoomStateRepository,
    private readonly purges: RoomPurgeRepository,
    private readonly writer: RoomWriterService,
  ) {}

  requireRoomId(roomId: string): void {
    if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
  }

  async lifecycle(roomId: string): Promise<RoomLifecycle> {
    const room = await this.rooms.find(roomId);
    if (!room) return 'absent';
    return room.purged_ts === null ? 'active' : 'purging';
  }

  /** Joined local members in membership order (the order they first appeared in the room). */
  async joinedLocalMembers(roomId: string): Promise<string[]> {
    return (await this.memberships.members(roomId, ['join'], true)).map((m) => m.user_id);
  }

  /**
   * Makes each user leave by their own leave event, keeping their display name and avatar from
   * their join. Users no longer joined are skipped, so a retry after a crash only does what is left.
   * `onProgress` is called after each batch with the number written so far.
   */
  async leaveAll(
    roomId: string,
    userIds: string[],
    onProgress?: (done: number) => Promise<void>,
  ): Promise<void> {
    let done = 0;
    for (let i = 0; i < userIds.length; i += LEAVE_BATCH) {
      const slice = userIds.slice(i, i + LEAVE_BATCH);
      const joins = await this.state.current(
        roomId,
        slice.map((u) => ['m.room.member', u] as [string, string]),
      );
      const drafts: EventDraft[] = joins
        .filter((e) => e.pdu.content.membership === 'join')
        .map((e) => ({
          type: 'm.room.member',
          stateKey: e.pdu.state_key!,
          sender: e.pdu.state_key!,
          content: { ...e.pdu.content, membership: 'leave' },
        }));
      await this.writer.send(roomId, drafts, { skipRejected: true });
      done += slice.length;
      await onProgress?.(done);
    }
  }

  /** The rooms a user is joined to, then the rooms they are invited to, each oldest first. */
  async roomsOfUser(userId: string): Promise<{ joined: string[]; invited: string[] }> {
    const rows = await this.memberships.roomsOf(userId, ['join', 'invite']);
    return {
      joined: rows.filter((r) => r.membership === 'join').map((r) => r.room_id),
      invited: rows.filter((r) => r.membership === 'invite').map((r) => r.room_id),
    };
  }

  /**
   * The user leaves (or rejects the invite to) a room with content exactly {"membership":"leave"}.
   * An administrator's evacuation also clears server-notice invites, which users cannot reject themselves.
   */
  async leaveRoom(userId: string, roomId: string): Promise<void> {
    const current = await this.memberships.get(roomId, userId);
    if (!current || !['join', 'invite', 'knock'].includes(current.membership)) return;
    await this.writer.send(
      roomId,
      [{ type: 'm.room.member', stateKey: userId, sender: userId, content: { membership: 'leave' } }],
      {
        skipRejected: true,
      },
    );
  }

  /** Hides the room from every client at once and frees its aliases; false when absent or already purging. */
  markPurged(roomId: string): Promise<boolean> {
    return this.purges.markPurged(roomId);
  }

  countEvents(roomId: string): Promise<number> {
    return this.purges.countEvents(roomId);
  }

  /**
   * Deletes a purged room's rows from every room table but its events, `batch` rows per
   * transaction; answers how many went. Safe to repeat.
   */
  async purgeRoomRows(roomId: string, batch: number): Promise<number> {
    let rows = 0;
    for (const table of PURGED_ROOM_TABLES) {
      for (let cursor = PURGE_START[table]; ;) {
        const { deleted, last } = await this.purges.deleteBatch(table, roomId, cursor, batch);
        if (deleted === 0) break;
        cursor = last;
        rows += deleted;
      }
    }
    return rows;
  }

  /** Deletes a purged room's events in the stream range (after, upTo]; answers how many. */
  purgeEvents(roomId: string, after: number, upTo: number): Promise<number> {
    return this.purges.deleteEvents(roomId, after, upTo);
  }

  deleteRoomRow(roomId: string): Promise<void> {
    return this.purges.deleteRoomRow(roomId);
  }

  isLocalUser(userId: string): boolean {
    return userId.endsWith(`:${this.config.SERVER_NAME}`);
  }
}
