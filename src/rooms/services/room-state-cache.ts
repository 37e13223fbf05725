import { LRUCache } from 'lru-cache';
import { stateKey, type Pdu } from '../events/pdu.js';

/** A current state event as the auth rules need it. */
export interface StateEvent {
  event_id: string;
  pdu: Pdu;
}

/** (type, state_key) */
export type StateKeyPair = [string, string];

interface RoomEntry {
  /** The room's latest event when the entries were current. */
  head: string | null;
  /** State key → its current event, or null when the room has no such state. */
  entries: Map<string, StateEvent | null>;
}

/** Rooms remembered per process: an evicted room is simply read again. */
const MAX_ROOMS = 10_000;

/**
 * The current state entries the auth rules read, per room, as of the room's latest event. The
 * writer locks a room's row before writing, and the row names the room's latest event: when that is
 * still the event the entries were remembered at, nothing has been written to the room since (by
 * this process or any other), so the entries are current and the writer reads from the database
 * only the keys it has not seen. When the room has moved on, everything is read again. Entries are
 * remembered only after the commit that produced them.
 */
export class RoomStateCache {
  private readonly rooms = new LRUCache<string, RoomEntry>({ max: MAX_ROOMS });

  /** The keys to read with the room's lock: those the cache does not know (all of them for an unknown room). */
  keysToRead(roomId: string, needed: StateKeyPair[]): StateKeyPair[] {
    const room = this.rooms.get(roomId);
    return room ? needed.filter(([type, key]) => !room.entries.has(stateKey(type, key))) : needed;
  }

  /**
   * The room's current state for the needed keys: the keys read with the lock (`requested`, as
   * keysToRead asked, and `read`, what they found) and the rest from the cache. Null when the cache
   * cannot vouch for the rest (the room has changed since it was remembered, or the entry was
   * evicted or replaced meanwhile): the caller must then read every needed key.
   */
  resolve(
    roomId: string,
    head: string | null,
    needed: StateKeyPair[],
    requested: StateKeyPair[],
    read: StateEvent[],
  ): StateEvent[] | null {
    const asked = new Set(requested.map(([type, key]) => stateKey(type, key)));
    const found = new Map(read.map((e) => [stateKey(e.pdu.type, e.pdu.state_key!), e]));
    const room = this.rooms.get(roomId);
    for (const [type, key] of needed) {
      const k = stateKey(type, key);
      if (asked.has(k)) continue;
      if (!room || room.head !== head || !room.entries.has(k)) return null;
      const known = room.entries.get(k);
      if (known) found.set(k, known);
    }
    return [...found.values()];
  }

  /**
   * After a commit: the room's latest event is now `head`, and `updates` are state entries known to
   * be current at it. Entries remembered at `basedOn` (the latest event when the room was locked)
   * are still current unless updated.
   */
  remember(
    roomId: string,
    basedOn: string | null,
    head: string | null,
    updates: Map<string, StateEvent | null>,
  ): void {
    const before = this.rooms.get(roomId);
    const entries = before?.head === basedOn ? new Map([...before.entries, ...updates]) : updates;
    this.rooms.set(roomId, { head, entries });
  }

  forget(roomId: string): void {
    this.rooms.delete(roomId);
  }
}
