import type { StoredEvent } from './events/pdu.js';

/**
 * Emitted in-process after a batch of events has committed, for modules above rooms (search
 * indexing, notices) that react to new events. /sync is woken separately, across processes,
 * through Redis.
 */
export const EventsPersistedEvent = 'rooms.events_persisted';
export interface EventsPersisted {
  roomId: string;
  events: StoredEvent[];
  /** Events redacted by this batch. */
  redacted: string[];
}
