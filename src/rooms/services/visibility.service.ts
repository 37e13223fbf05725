import { Injectable } from '@nestjs/common';
import type { StoredEvent } from '../events/pdu.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';

interface Interval<T> {
  from: number;
  to: number | null;
  value: T;
}

function valueAt<T>(intervals: Interval<T>[], pos: number, fallback: T): T {
  for (const i of intervals) if (i.from <= pos && (i.to === null || i.to > pos)) return i.value;
  return fallback;
}

/**
 * History visibility: which events of a room a user may see, from the room's
 * m.room.history_visibility and the user's membership at each event.
 */
@Injectable()
export class VisibilityService {
  constructor(private readonly state: RoomStateRepository) {}

  async filter(userId: string, roomId: string, events: StoredEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return events;
    const [memberHistory, visibilityHistory] = await Promise.all([
      this.state.history(roomId, 'm.room.member', userId),
      this.state.history(roomId, 'm.room.history_visibility', ''),
    ]);
    const membership: Interval<string>[] = memberHistory.map((h) => ({
      from: h.from_pos,
      to: h.to_pos,
      value: String(h.event.pdu.content.membership),
    }));
    const visibility: Interval<string>[] = visibilityHistory.map((h) => ({
      from: h.from_pos,
      to: h.to_pos,
      value: String(h.event.pdu.content.history_visibility ?? 'shared'),
    }));
    const current = membership.length > 0 ? membership[membership.length - 1] : undefined;
    const joinedNow = current?.to === null && current.value === 'join';

    return events.filter((e) => {
      const before = e.stream_pos - 1;
      const vis = valueAt(visibility, before, 'shared');
      if (vis === 'world_readable') return true;
      // Users always see changes to their own membership (their invite, their kick, their leave).
      if (e.pdu.type === 'm.room.member' && e.pdu.state_key === userId) return true;
      const m = valueAt(membership, before, 'leave');
      if (m === 'join') return true;
      if (vis === 'shared') return joinedNow;
      if (vis === 'invited') return m === 'invite';
      return false;
    });
  }

  /** Whether the user has ever been joined to (or invited into) the room: who may read anything at all. */
  async everMember(userId: string, roomId: string): Promise<boolean> {
    const history = await this.state.history(roomId, 'm.room.member', userId);
    return history.some((h) => ['join', 'invite'].includes(String(h.event.pdu.content.membership)));
  }
}
