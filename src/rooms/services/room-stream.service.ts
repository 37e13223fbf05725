import { Injectable } from '@nestjs/common';
import { toStrippedState } from '../events/client-event.js';
import { highlights } from '../events/mentions.js';
import type { StoredEvent } from '../events/pdu.js';
import { EphemeralRepository, type ReceiptRow } from '../repositories/ephemeral.repository.js';
import { MembershipRepository, type MembershipRow } from '../repositories/membership.repository.js';
import { RoomEventRepository } from '../repositories/room-event.repository.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';
import { VisibilityService } from './visibility.service.js';

const INVITE_STATE_TYPES = [
  'm.room.create',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.join_rules',
  'm.room.canonical_alias',
  'm.room.encryption',
];

/** The read side /sync needs from rooms (Dendrite's SyncRoomserverAPI): ranges of events, state and memberships by stream position. */
@Injectable()
export class RoomStreamService {
  constructor(
    private readonly events: RoomEventRepository,
    private readonly state: RoomStateRepository,
    private readonly memberships: MembershipRepository,
    private readonly ephemeral: EphemeralRepository,
    private readonly visibility: VisibilityService,
  ) {}

  /** The user's current memberships (join, invite, leave, ban) in rooms that still exist. */
  currentMemberships(userId: string): Promise<MembershipRow[]> {
    return this.memberships.roomsOf(userId, ['join', 'invite', 'leave', 'ban']);
  }

  /** Rooms where the user's membership changed in (after, upTo], with the latest member event. */
  membershipChanges(
    userId: string,
    after: number,
    upTo: number,
  ): Promise<{ room_id: string; event: StoredEvent }[]> {
    return this.state.membershipChanges(userId, after, upTo);
  }

  /** A user's membership of a room just after stream position `pos` ('leave' if none). */
  async membershipAt(roomId: string, userId: string, pos: number): Promise<string> {
    const history = await this.state.history(roomId, 'm.room.member', userId);
    const entry = history.find((h) => h.from_pos <= pos && (h.to_pos === null || h.to_pos > pos));
    return entry ? String(entry.event.pdu.content.membership) : 'leave';
  }

  recentEvents(roomIds: string[], after: number, upTo: number, limit: number) {
    return this.events.recentPerRoom(roomIds, after, upTo, limit);
  }

  stateAt(roomId: string, pos: number): Promise<StoredEvent[]> {
    return this.state.at(roomId, pos);
  }

  /** The member events of these users just after stream position `pos` (for lazy-loading members). */
  membersAt(roomId: string, pos: number, userIds: string[]): Promise<StoredEvent[]> {
    return this.state.membersAt(roomId, pos, userIds);
  }

  stateChanges(roomId: string, after: number, upTo: number): Promise<StoredEvent[]> {
    return this.state.changedBetween(roomId, after, upTo);
  }

  filterVisible(userId: string, roomId: string, events: StoredEvent[]): Promise<StoredEvent[]> {
    return this.visibility.filter(userId, roomId, events);
  }

  /** Events by ID, in any room and any order; unknown IDs are left out (search results). */
  eventsByIds(eventIds: string[]): Promise<StoredEvent[]> {
    return this.events.findMany(eventIds);
  }

  /** How one state entry (a user's membership...) changed over time, oldest first, with validity intervals. */
  stateHistory(roomId: string, type: string, stateKey: string) {
    return this.state.history(roomId, type, stateKey);
  }

  /** Stripped state shown with an invite: the room's name, rules etc., plus the invite itself. */
  async inviteState(roomId: string, invite: StoredEvent) {
    const state = await this.state.at(roomId, invite.stream_pos);
    const stripped = state
      .filter((e) => INVITE_STATE_TYPES.includes(e.pdu.type) && e.pdu.state_key === '')
      .map(toStrippedState);
    const inviter = state.find(
      (e) => e.pdu.type === 'm.room.member' && e.pdu.state_key === invite.pdu.sender,
    );
    if (inviter) stripped.push(toStrippedState(inviter));
    stripped.push(toStrippedState(invite));
    return stripped;
  }

  async summary(roomId: string, userId: string) {
    const [counts, heroes] = await Promise.all([
      this.memberships.counts(roomId),
      this.memberships.heroes(roomId, userId, 5),
    ]);
    return {
      'm.heroes': heroes,
      'm.joined_member_count': counts.joined,
      'm.invited_member_count': counts.invited,
    };
  }

  /**
   * The room's unread counts for /sync, from the user's read receipt: notifications and highlights
   * as the default push rules count them (see highlights()), notices and highlights among the latest
   * unread messages only (RoomEventRepository.recentUnreadCandidates).
   */
  async unreadCounts(
    roomId: string,
    userId: string,
    upTo: number,
  ): Promise<{ notification_count: number; highlight_count: number }> {
    const [read, me] = await Promise.all([
      this.ephemeral.readPosition(roomId, userId),
      this.memberships.get(roomId, userId),
    ]);
    const displayName = me?.display_name ?? null;
    const localpart = userId.slice(1, userId.indexOf(':'));
    // The needles as they appear in canonical JSON text (a quote in a name is \" there).
    const needles = [localpart, ...(displayName ? [displayName] : [])].map((n) =>
      JSON.stringify(n).slice(1, -1),
    );
    const [unread, recent] = await Promise.all([
      this.events.countMessagesAfter(roomId, read, upTo, userId),
      this.events.recentUnreadCandidates(roomId, read, upTo, userId, needles),
    ]);
    // The default rules in their order: notices never notify; mentions highlight (edits too);
    // other edits do not notify (.m.rule.suppress_edits).
    let silent = 0;
    let highlighted = 0;
    for (const { content } of recent) {
      const relation = content['m.relates_to'] as { rel_type?: unknown } | undefined;
      if (content.msgtype === 'm.notice') silent++;
      else if (highlights(content, userId, displayName)) highlighted++;
      else if (relation?.rel_type === 'm.replace') silent++;
    }
    return { notification_count: Math.max(0, unread - silent), highlight_count: highlighted };
  }

  receiptsSince(roomIds: string[], after: number, upTo: number): Promise<ReceiptRow[]> {
    return roomIds.length === 0 ? Promise.resolve([]) : this.ephemeral.receiptsSince(roomIds, after, upTo);
  }

  typingChanged(roomIds: string[], after: number, upTo: number): Promise<string[]> {
    return roomIds.length === 0 ? Promise.resolve([]) : this.ephemeral.typingChanged(roomIds, after, upTo);
  }

  typingUsers(roomId: string): Promise<string[]> {
    return this.ephemeral.typingUsers(roomId, Date.now());
  }
}
