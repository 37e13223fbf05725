import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppConfig } from '../../config/app-config.js';
import { SqlService } from '../../database/sql.service.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { parseRoomAlias, parseRoomId, parseUserId } from '../../common/matrix/ids.js';
import { AccountsService } from '../../accounts/services/accounts.service.js';
import { AccountDataService } from '../../accounts/services/account-data.service.js';
import { ProfileService, type Profile } from '../../accounts/services/profile.service.js';
import { ProfileChangedEvent, type ProfileChanged } from '../../accounts/accounts.events.js';
import { AliasRepository } from '../repositories/alias.repository.js';
import { MembershipRepository } from '../repositories/membership.repository.js';
import { RoomRepository } from '../repositories/room.repository.js';
import { RoomWriterService, type EventDraft } from './room-writer.service.js';

export const SERVER_NOTICE_TAG = 'm.server_notice';

/** Joining, leaving, inviting, kicking, banning: each a member event through the room writer. */
@Injectable()
export class MembershipService {
  private readonly logger = new Logger(MembershipService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly writer: RoomWriterService,
    private readonly rooms: RoomRepository,
    private readonly memberships: MembershipRepository,
    private readonly aliases: AliasRepository,
    private readonly accounts: AccountsService,
    private readonly profiles: ProfileService,
    private readonly accountData: AccountDataService,
    private readonly sql: SqlService,
  ) {}

  /** Display name and avatar to put in a user's member events. */
  async profileContent(userId: string): Promise<Record<string, unknown>> {
    try {
      const p = await this.profiles.get(userId);
      return {
        ...(p.displayname ? { displayname: p.displayname } : {}),
        ...(p.avatar_url ? { avatar_url: p.avatar_url } : {}),
      };
    } catch {
      return {};
    }
  }

  /** Invitees must be existing local users: rooms are not federated yet. */
  async checkInvitee(userId: string): Promise<void> {
    const parsed = parseUserId(userId);
    if (!parsed) throw M.invalidParam(`'${userId}' is not a valid user ID`);
    if (parsed.serverName !== this.config.SERVER_NAME) {
      throw M.forbidden(
        `Cannot invite ${userId}: this server does not federate rooms with ${parsed.serverName}`,
      );
    }
    if (!(await this.accounts.accountExists(parsed.localpart)))
      throw M.notFound(`User ${userId} does not exist`);
  }

  /** Resolves a room ID or alias to an existing, not purged room (404 otherwise). */
  async resolveRoom(roomIdOrAlias: string): Promise<string> {
    let roomId = roomIdOrAlias;
    if (roomIdOrAlias.startsWith('#')) {
      if (!parseRoomAlias(roomIdOrAlias))
        throw M.invalidParam(`'${roomIdOrAlias}' is not a valid room alias`);
      const resolved = await this.aliases.resolve(roomIdOrAlias);
      if (!resolved) throw M.notFound('Room alias not found');
      roomId = resolved;
    } else if (!parseRoomId(roomIdOrAlias)) {
      throw M.invalidParam(`'${roomIdOrAlias}' is not a valid room ID or alias`);
    }
    const room = await this.rooms.find(roomId);
    if (!room || room.purged_ts !== null) throw M.notFound('Room not found');
    return roomId;
  }

  /** POST /rooms/{roomId}/join: like /join/{roomIdOrAlias}, but only with a room ID. */
  async joinRoomId(userId: string, roomId: string, reason?: string): Promise<{ room_id: string }> {
    requireRoomId(roomId);
    return this.join(userId, roomId, reason);
  }

  async join(userId: string, roomIdOrAlias: string, reason?: string): Promise<{ room_id: string }> {
    const roomId = await this.resolveRoom(roomIdOrAlias);
    const current = await this.memberships.get(roomId, userId);
    const profile = await this.profileContent(userId);
    if (
      current?.membership === 'join' &&
      current.display_name === (profile.displayname ?? null) &&
      current.avatar_url === (profile.avatar_url ?? null)
    ) {
      return { room_id: roomId };
    }
    await this.send(roomId, userId, userId, {
      ...profile,
      membership: 'join',
      ...(reason ? { reason } : {}),
    });
    return { room_id: roomId };
  }

  async leave(userId: string, roomId: string, reason?: string): Promise<void> {
    requireRoomId(roomId);
    await this.resolveRoom(roomId);
    const current = await this.memberships.get(roomId, userId);
    if (!current || current.membership === 'leave' || current.membership === 'ban') {
      throw M.forbidden('You are not in this room');
    }
    if (current.membership === 'invite' && userId.endsWith(`:${this.config.SERVER_NAME}`)) {
      const localpart = parseUserId(userId)!.localpart;
      const tags = await this.accountData.getTags(localpart, roomId);
      if (SERVER_NOTICE_TAG in tags) {
        throw new MatrixError('M_CANNOT_LEAVE_SERVER_NOTICE_ROOM', 'You cannot reject this invite');
      }
    }
    await this.send(roomId, userId, userId, { membership: 'leave', ...(reason ? { reason } : {}) });
  }

  async invite(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    requireRoomId(roomId);
    await this.resolveRoom(roomId);
    await this.checkInvitee(target);
    const current = await this.memberships.get(roomId, target);
    if (current?.membership === 'invite') return;
    await this.send(roomId, sender, target, { membership: 'invite', ...(reason ? { reason } : {}) });
  }

  async kick(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    requireRoomId(roomId);
    await this.resolveRoom(roomId);
    this.requireUserId(target);
    const current = await this.memberships.get(roomId, target);
    if (!current || !['join', 'invite', 'knock'].includes(current.membership))
      throw M.forbidden('The user is not in the room');
    await this.send(roomId, sender, target, { membership: 'leave', ...(reason ? { reason } : {}) });
  }

  async ban(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    requireRoomId(roomId);
    await this.resolveRoom(roomId);
    this.requireUserId(target);
    await this.send(roomId, sender, target, { membership: 'ban', ...(reason ? { reason } : {}) });
  }

  async unban(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    requireRoomId(roomId);
    await this.resolveRoom(roomId);
    this.requireUserId(target);
    const current = await this.memberships.get(roomId, target);
    if (current?.membership !== 'ban') throw M.forbidden('The user is not banned');
    await this.send(roomId, sender, target, { membership: 'leave', ...(reason ? { reason } : {}) });
  }

  async forget(userId: string, roomId: string): Promise<void> {
    if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
    const current = await this.memberships.get(roomId, userId);
    if (!current) throw M.notFound('You have never been in this room');
    if (current.membership === 'join' || current.membership === 'invite') {
      throw new MatrixError('M_UNKNOWN', 'You must leave the room before forgetting it', 400);
    }
    await this.memberships.forget(roomId, userId);
  }

  /** A user's current membership of a room (join, invite, leave, ban, knock), or null if never in it. */
  async membershipOf(roomId: string, userId: string): Promise<string | null> {
    return (await this.memberships.get(roomId, userId))?.membership ?? null;
  }

  async joinedRooms(userId: string): Promise<string[]> {
    return (await this.memberships.roomsOf(userId, ['join'])).map((m) => m.room_id);
  }

  /**
   * A profile change re-sends the user's member event in every room they are joined to. One change
   * of a user at a time, across processes, each with the profile as it stands when its turn comes:
   * concurrent changes end with the last profile in every room. A room the user has left meanwhile
   * is left alone (the re-sent join would undo the leave).
   */
  @OnEvent(ProfileChangedEvent, { async: true, promisify: true })
  async onProfileChanged(change: ProfileChanged): Promise<void> {
    await this.sql.withAdvisoryLock(`lattice:profile:${change.userId}`, async () => {
      const profile = await this.profiles.get(change.userId).catch(() => ({}) as Profile);
      const content = { ...profile, membership: 'join' };
      for (const roomId of await this.joinedRooms(change.userId)) {
        try {
          await this.writer.send(
            roomId,
            [
              {
                type: 'm.room.member',
                stateKey: change.userId,
                sender: change.userId,
                content,
                ifMembership: 'join',
              },
            ],
            { skipRejected: true },
          );
        } catch (err) {
          this.logger.warn(
            `Could not update ${change.userId}'s member event in ${roomId}: ${(err as Error).message}`,
          );
        }
      }
    });
  }

  private requireUserId(userId: string): void {
    if (!parseUserId(userId)) throw M.invalidParam(`'${userId}' is not a valid user ID`);
  }

  private async send(
    roomId: string,
    sender: string,
    target: string,
    content: Record<string, unknown>,
  ): Promise<void> {
    const draft: EventDraft = { type: 'm.room.member', stateKey: target, sender, content };
    await this.writer.send(roomId, [draft]);
  }
}

/** Routes under /rooms/{roomId}/ take room IDs only (aliases go through /join/{roomIdOrAlias}). */
function requireRoomId(roomId: string): void {
  if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
}
