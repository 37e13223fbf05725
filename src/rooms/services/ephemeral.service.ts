import { Injectable } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { parseRoomId } from '../../common/matrix/ids.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import { AccountDataService } from '../../accounts/services/account-data.service.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { EphemeralRepository } from '../repositories/ephemeral.repository.js';
import { MembershipRepository } from '../repositories/membership.repository.js';
import { RoomEventRepository } from '../repositories/room-event.repository.js';
import { TypingExpiryService } from './typing-expiry.service.js';

const MAX_TYPING_MS = 120_000;
const RECEIPT_TYPES = ['m.read', 'm.read.private'] as const;

/** Typing notifications, read receipts and read markers. */
@Injectable()
export class EphemeralService {
  constructor(
    private readonly repo: EphemeralRepository,
    private readonly memberships: MembershipRepository,
    private readonly events: RoomEventRepository,
    private readonly accountData: AccountDataService,
    private readonly notifier: StreamNotifier,
    private readonly typingExpiry: TypingExpiryService,
  ) {}

  async setTyping(
    requester: Requester,
    roomId: string,
    userId: string,
    typing: boolean,
    timeout?: number,
  ): Promise<void> {
    if (userId !== requester.userId) throw M.forbidden('Cannot set typing for another user');
    await this.requireJoined(requester.userId, roomId);
    const expires = typing ? Date.now() + Math.min(Math.max(timeout ?? 30_000, 0), MAX_TYPING_MS) : 0;
    const position = await this.repo.setTyping(roomId, userId, expires);
    if (position === null) throw M.notFound('Room not found');
    await this.notifier.notify({ roomIds: [roomId], position });
    if (typing) this.typingExpiry.expireAt(expires);
  }

  async sendReceipt(
    requester: Requester,
    roomId: string,
    type: string,
    eventId: string,
    threadId?: string,
  ): Promise<void> {
    if (!(RECEIPT_TYPES as readonly string[]).includes(type) && type !== 'm.fully_read')
      throw M.invalidParam(`Unknown receipt type ${type}`);
    await this.requireJoined(requester.userId, roomId);
    if (threadId?.includes('\u0000')) throw M.badJson('thread_id must not contain NUL characters');
    // The spec: an empty thread ID is invalid (an unthreaded receipt leaves it out).
    if (threadId === '') throw M.invalidParam('thread_id must not be empty');
    const at = await this.events.positionOf(eventId);
    if (!at || at.room_id !== roomId) throw M.notFound('Event not found');
    if (type === 'm.fully_read') {
      await this.accountData.put(requester.localpart, roomId, 'm.fully_read', { event_id: eventId });
      return;
    }
    const position = await this.repo.putReceipt(roomId, requester.userId, type, threadId ?? '', eventId);
    if (position === null) throw M.notFound('Room not found');
    await this.notifier.notify({ roomIds: [roomId], position });
  }

  /** POST /rooms/{roomId}/read_markers: the fully-read marker and/or receipts in one call. */
  async setReadMarkers(
    requester: Requester,
    roomId: string,
    body: { 'm.fully_read'?: string; 'm.read'?: string; 'm.read.private'?: string },
  ): Promise<void> {
    await this.requireJoined(requester.userId, roomId);
    const fullyRead = body['m.fully_read'];
    if (typeof fullyRead === 'string') await this.sendReceipt(requester, roomId, 'm.fully_read', fullyRead);
    for (const type of RECEIPT_TYPES) {
      const eventId = body[type];
      if (typeof eventId === 'string') await this.sendReceipt(requester, roomId, type, eventId);
    }
  }

  private async requireJoined(userId: string, roomId: string): Promise<void> {
    if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
    const me = await this.memberships.get(roomId, userId);
    if (me?.membership !== 'join') throw M.forbidden('You are not joined to this room');
  }
}
