import type { StoredEvent } from './events/pdu.js';

/**
 * Emitted in-process after a batch of events has committed, for modules above rooms (search
 * indexing, notices) that react to new events. /sync is woken separately, across processes,
 * through Redis.
 */
export const EventsPersistedEvent = 'rooms.events_persisted';
export interface EventsPersisted {
  /** In stream order within each room; a group commit may hold events of several rooms. */
  events: StoredEvent[];
  /** Events redacted by these. */
  redacted: string[];
}
