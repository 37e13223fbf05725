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
    // `shared` history is for members: what was sent before a user joined is theirs once they
    // join, and stays theirs after they leave; what was sent after they left is not.
    const joinedAtOrAfter = (pos: number) =>
      membership.some((i) => i.value === 'join' && (i.to === null || i.to > pos));

    return events.filter((e) => {
      const before = e.stream_pos - 1;
      const vis = valueAt(visibility, before, 'shared');
      if (vis === 'world_readable') return true;
      // Users always see changes to their own membership (their invite, their kick, their leave).
      if (e.pdu.type === 'm.room.member' && e.pdu.state_key === userId) return true;
      const m = valueAt(membership, before, 'leave');
      if (m === 'join') return true;
      if (vis === 'shared') return joinedAtOrAfter(before);
      if (vis === 'invited') return m === 'invite';
      return false;
    });
  }

  /**
   * Up to which stream position the user may read the room's history: everything while they are
   * joined or invited (or the room is world-readable), up to their leave once they left, nothing
   * (null) if they were never in the room.
   */
  async readableUpTo(userId: string, roomId: string): Promise<number | null> {
    const [history, visibility] = await Promise.all([
      this.state.history(roomId, 'm.room.member', userId),
      this.state.current(roomId, [['m.room.history_visibility', '']]),
    ]);
    if (visibility[0]?.pdu.content.history_visibility === 'world_readable') return Infinity;
    const membershipOf = (h: (typeof history)[number]) => String(h.event.pdu.content.membership);
    if (!history.some((h) => ['join', 'invite'].includes(membershipOf(h)))) return null;
    const current = history[history.length - 1];
    if (['join', 'invite'].includes(membershipOf(current))) return Infinity;
    return current.from_pos;
  }
}
