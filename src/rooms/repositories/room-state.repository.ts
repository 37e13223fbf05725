import { Injectable } from '@nestjs/common';
import { pduJson, textArray } from '../../database/sql-literals.js';
import { SqlService, type Queryable } from '../../database/sql.service.js';
import type { StoredEvent } from '../events/pdu.js';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './room-event.repository.js';

/**
 * Room state from the state history table: current state is the rows with to_pos NULL; the
 * state at position P is the rows valid at P (from_pos <= P < to_pos).
 */
@Injectable()
export class RoomStateRepository {
  constructor(private readonly sql: SqlService) {}

  /**
   * The current state entries of several rooms, each room's given (type, state_key) pairs, as a
   * statement with literal values to open a transaction with (see SqlService).
   */
  currentStatement(keys: { roomId: string; type: string; stateKey: string }[]): string {
    // One probe of the current-state index per key (LATERAL … LIMIT 1 is never turned into a join
    // over the whole table, whatever the statistics say about its size).
    return `SELECT ${EVENT_COLUMNS}
      FROM unnest(${textArray(keys.map((k) => k.roomId))}, ${textArray(keys.map((k) => k.type))},
                  ${textArray(keys.map((k) => k.stateKey))}) AS k(room_id, type, state_key)
      CROSS JOIN LATERAL (
        SELECT rs.event_id FROM room_state rs
        WHERE rs.room_id = k.room_id AND rs.type = k.type AND rs.state_key = k.state_key AND rs.to_pos IS NULL
        LIMIT 1
      ) rs
      JOIN room_events e ON e.event_id = rs.event_id`;
  }

  static rowsToEvents(rows: Record<string, unknown>[]): StoredEvent[] {
    return (rows as unknown as EventRow[]).map(toStoredEvent);
  }

  /** Current state events, optionally only the given (type, state_key) pairs. */
  async current(roomId: string, keys?: [string, string][], db: Queryable = this.sql): Promise<StoredEvent[]> {
    const rows = keys
      ? await db.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
           WHERE rs.room_id = $1 AND rs.to_pos IS NULL
             AND (rs.type, rs.state_key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
          [roomId, keys.map((k) => k[0]), keys.map((k) => k[1])],
        )
      : await db.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
           WHERE rs.room_id = $1 AND rs.to_pos IS NULL`,
          [roomId],
        );
    return rows.map(toStoredEvent);
  }

  /** Current state of the given types (any state key). */
  async currentOfTypes(roomId: string, types: string[]): Promise<StoredEvent[]> {
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.room_id = $1 AND rs.to_pos IS NULL AND rs.type = ANY($2)`,
      [roomId, types],
    );
    return rows.map(toStoredEvent);
  }

  /** The full state after every event at or below `pos`. */
  async at(roomId: string, pos: number): Promise<StoredEvent[]> {
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.room_id = $1 AND rs.from_pos <= $2 AND (rs.to_pos IS NULL OR rs.to_pos > $2)`,
      [roomId, pos],
    );
    return rows.map(toStoredEvent);
  }

  /** The member events of these users just after stream position `pos` (users with none are left out). */
  async membersAt(roomId: string, pos: number, userIds: string[]): Promise<StoredEvent[]> {
    if (userIds.length === 0) return [];
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.type = 'm.room.member' AND rs.state_key = ANY($3::text[]) AND rs.room_id = $1
         AND rs.from_pos <= $2 AND (rs.to_pos IS NULL OR rs.to_pos > $2)`,
      [roomId, pos, userIds],
    );
    return rows.map(toStoredEvent);
  }

  /** State entries that changed in (after, upTo] and are still valid at upTo: the delta between two points. */
  async changedBetween(roomId: string, after: number, upTo: number): Promise<StoredEvent[]> {
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.room_id = $1 AND rs.from_pos > $2 AND rs.from_pos <= $3 AND (rs.to_pos IS NULL OR rs.to_pos > $3)`,
      [roomId, after, upTo],
    );
    return rows.map(toStoredEvent);
  }

  /** Validity intervals of one state key (a user's membership, the history visibility...), oldest first. */
  async history(
    roomId: string,
    type: string,
    stateKey: string,
  ): Promise<{ from_pos: number; to_pos: number | null; event: StoredEvent }[]> {
    const rows = await this.sql.query<EventRow & { from_pos: string; to_pos: string | null }>(
      `SELECT ${EVENT_COLUMNS}, rs.from_pos, rs.to_pos FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.room_id = $1 AND rs.type = $2 AND rs.state_key = $3 ORDER BY rs.from_pos`,
      [roomId, type, stateKey],
    );
    return rows.map((r) => ({
      from_pos: Number(r.from_pos),
      to_pos: r.to_pos === null ? null : Number(r.to_pos),
      event: toStoredEvent(r),
    }));
  }

  /** Rooms where a user's membership changed in (after, upTo], with the latest change in that range. */
  async membershipChanges(
    userId: string,
    after: number,
    upTo: number,
  ): Promise<{ room_id: string; event: StoredEvent }[]> {
    const rows = await this.sql.query<EventRow & { room_id: string }>(
      `SELECT DISTINCT ON (rs.room_id) ${EVENT_COLUMNS} FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.type = 'm.room.member' AND rs.state_key = $1 AND rs.from_pos > $2 AND rs.from_pos <= $3
       ORDER BY rs.room_id, rs.from_pos DESC`,
      [userId, after, upTo],
    );
    return rows.map((r) => ({ room_id: r.room_id, event: toStoredEvent(r) }));
  }
  /**
   * Who shares a joined room with the user just after position `pos`: (room, member) pairs of the
   * rooms the user was joined to then, with their members joined then (the user included).
   * Membership is read from the member event itself, as room_state keeps no membership column.
   */
  coMembersAt(userId: string, pos: number): Promise<{ room_id: string; user_id: string }[]> {
    return this.sql.query<{ room_id: string; user_id: string }>(
      `WITH mine AS (
         SELECT rs.room_id FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
         WHERE rs.type = 'm.room.member' AND rs.state_key = $1 AND rs.from_pos <= $2
           AND (rs.to_pos IS NULL OR rs.to_pos > $2) AND ${pduJson('e.pdu')} -> 'content' ->> 'membership' = 'join'
       )
       SELECT rs.room_id, rs.state_key AS user_id FROM room_state rs JOIN room_events e ON e.event_id = rs.event_id
       WHERE rs.room_id IN (SELECT room_id FROM mine) AND rs.type = 'm.room.member' AND rs.from_pos <= $2
         AND (rs.to_pos IS NULL OR rs.to_pos > $2) AND ${pduJson('e.pdu')} -> 'content' ->> 'membership' = 'join'`,
      [userId, pos],
    );
  }

  /**
   * Whether any member event landed in (after, upTo] in a room the user was joined to at some
   * point of that range: the cheap test that tells whether who-shares-a-room-with-whom can have
   * changed at all.
   */
  async memberEventsAround(userId: string, after: number, upTo: number): Promise<boolean> {
    const row = await this.sql.one<{ found: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM room_state rs
         WHERE rs.type = 'm.room.member' AND rs.from_pos > $2 AND rs.from_pos <= $3
           AND rs.room_id IN (
             SELECT m.room_id FROM room_state m JOIN room_events e ON e.event_id = m.event_id
             WHERE m.type = 'm.room.member' AND m.state_key = $1 AND m.from_pos <= $3
               AND (m.to_pos IS NULL OR m.to_pos > $2) AND ${pduJson('e.pdu')} -> 'content' ->> 'membership' = 'join')
       ) AS found`,
      [userId, after, upTo],
    );
    return row?.found === true;
  }
}
