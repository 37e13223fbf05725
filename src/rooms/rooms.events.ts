import type { StoredEvent } from './events/pdu.js';

/**
 * Emitted in-process after a batch of events has committed, for modules above rooms (search
 * indexing, notices) that react to new events. /sync is woken separately, across processes,
 * through Redis. The senders are answered, and their rooms write their next events, once the
 * listeners have finished: a listener must not wait for a send of its own.
 */
export const EventsPersistedEvent = 'rooms.events_persisted';
export interface EventsPersisted {
  /** In stream order within each room; a group commit may hold events of several rooms. */
  events: StoredEvent[];
  /** Events redacted by these. */
  redacted: string[];
}
