import { Injectable } from '@nestjs/common';
import { textArray } from '../../database/sql-literals.js';
import { SqlService, type Queryable } from '../../database/sql.service.js';
import type { Pdu, StoredEvent } from '../events/pdu.js';

export interface EventRow {
  stream_pos: string;
  event_id: string;
  room_id: string;
  pdu: string;
  redacted_by: string | null;
  replaces_state: string | null;
  prev_content: string | null;
  prev_sender: string | null;
  txn_device: string | null;
  txn_id: string | null;
}

export const EVENT_COLUMNS = `e.stream_pos, e.event_id, e.room_id, e.pdu, e.redacted_by, e.replaces_state, e.prev_content,
  e.prev_sender, e.txn_device, e.txn_id`;

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    event_id: row.event_id,
    stream_pos: Number(row.stream_pos),
    pdu: JSON.parse(row.pdu) as Pdu,
    redacted_by: row.redacted_by,
    replaces_state: row.replaces_state,
    prev_content:
      row.prev_content === null ? null : (JSON.parse(row.prev_content) as Record<string, unknown>),
    prev_sender: row.prev_sender,
    txn_device: row.txn_device,
    txn_id: row.txn_id,
  };
}

/** A client transaction: who sent it, from which device, for which kind of request, with which ID. */
export interface ClientTxn {
  sender: string;
  device: string;
  scope: string;
  id: string;
}

/** One event of a batch, ready to store; `ord` is its 1-based place in the batch (its stream position is base + ord). */
export interface NewEventRow {
  eventId: string;
  type: string;
  stateKey: string | null;
  sender: string;
  depth: number;
  ts: number;
  pdu: string;
  replacesState: string | null;
  prevContent: string | null;
  prevSender: string | null;
  txnDevice: string | null;
  txnScope: string | null;
  txnId: string | null;
}

export interface NewStateRow {
  type: string;
  stateKey: string;
  eventId: string;
  ord: number;
  /** ord of the batch event that replaces this one, if any. */
  toOrd: number | null;
}

export interface NewMembershipRow {
  userId: string;
  membership: string;
  eventId: string;
  ord: number;
  sender: string;
  isLocal: boolean;
  displayName: string | null;
  avatarUrl: string | null;
}

export interface EventBatch {
  roomId: string;
  events: NewEventRow[];
  state: NewStateRow[];
  /** First ord per state key whose existing current entry the batch closes. */
  closes: { type: string; stateKey: string; ord: number }[];
  memberships: NewMembershipRow[];
  lastEventId: string;
  lastDepth: number;
}

/*
 * One statement stores whole batches, of one room or several (a group commit). It allocates the
 * stream positions last thing before the commit (see the rooms migration on why the stream head
 * is a locked row), so the head lock is held for one statement and the commit only. Rows carry an
 * ordinal across all the batches (each batch's events follow the previous batch's), which becomes
 * their stream position.
 */
const PERSIST_BATCHES_SQL = `
WITH head AS (SELECT lattice_next_stream_pos($1) - $1 AS base),
ev AS (
  INSERT INTO room_events (stream_pos, event_id, room_id, type, state_key, sender, depth, origin_server_ts, pdu,
                           replaces_state, prev_content, prev_sender, txn_device, txn_scope, txn_id)
  SELECT head.base + e.ord, e.event_id, e.room_id, e.type, e.state_key, e.sender, e.depth, e.ts, e.pdu,
         e.replaces_state, e.prev_content, e.prev_sender, e.txn_device, e.txn_scope, e.txn_id
  FROM head, unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
                    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
       WITH ORDINALITY AS e(room_id, event_id, type, state_key, sender, depth, ts, pdu,
                            replaces_state, prev_content, prev_sender, txn_device, txn_scope, txn_id, ord)
  RETURNING 1
),
closed AS (
  UPDATE room_state rs SET to_pos = head.base + c.ord
  FROM head, unnest($16::text[], $17::text[], $18::text[], $19::int[]) AS c(room_id, type, state_key, ord)
  WHERE rs.room_id = c.room_id AND rs.type = c.type AND rs.state_key = c.state_key AND rs.to_pos IS NULL
  RETURNING 1
),
st AS (
  INSERT INTO room_state (room_id, type, state_key, event_id, from_pos, to_pos)
  SELECT s.room_id, s.type, s.state_key, s.event_id, head.base + s.ord, head.base + s.to_ord
  FROM head, unnest($20::text[], $21::text[], $22::text[], $23::text[], $24::int[], $25::int[])
       AS s(room_id, type, state_key, event_id, ord, to_ord)
  RETURNING 1
),
mem AS (
  INSERT INTO room_memberships (room_id, user_id, membership, event_id, stream_pos, first_pos, sender, is_local,
                                display_name, avatar_url)
  SELECT m.room_id, m.user_id, m.membership, m.event_id, head.base + m.ord, head.base + m.ord, m.sender, m.is_local,
         m.display_name, m.avatar_url
  FROM head, unnest($26::text[], $27::text[], $28::text[], $29::text[], $30::int[], $31::text[], $32::boolean[],
                    $33::text[], $34::text[])
       AS m(room_id, user_id, membership, event_id, ord, sender, is_local, display_name, avatar_url)
  ON CONFLICT (room_id, user_id) DO UPDATE SET
    membership = EXCLUDED.membership, event_id = EXCLUDED.event_id, stream_pos = EXCLUDED.stream_pos,
    sender = EXCLUDED.sender, display_name = EXCLUDED.display_name, avatar_url = EXCLUDED.avatar_url, forgotten = FALSE
  RETURNING 1
),
room AS (
  UPDATE rooms r SET last_event_id = x.last_event_id, last_depth = x.last_depth
  FROM unnest($35::text[], $36::text[], $37::bigint[]) AS x(room_id, last_event_id, last_depth)
  WHERE r.room_id = x.room_id
  RETURNING 1
)
SELECT base FROM head`;

/** PostgreSQL text cannot hold NUL: an ID with one is not stored, and querying it would fail. */
const storable = (id: string): boolean => !id.includes('\u0000');

/**
 * Unread messages looked at for notices and highlights, the latest first: a badge says "many" long
 * before, and counting them all cost every sync of a busy room ~5 ms.
 */
const MENTION_WINDOW = 200;

@Injectable()
export class RoomEventRepository {
  constructor(private readonly sql: SqlService) {}

  /**
   * Stores batches of new events (each of one room) with their state and membership changes, in
   * one statement; returns each batch's stream position before its first event.
   */
  async persistBatches(batches: EventBatch[], tx: Queryable): Promise<number[]> {
    const offsets: number[] = [];
    let total = 0;
    for (const b of batches) {
      offsets.push(total);
      total += b.events.length;
    }
    // Each batch's ordinals (1…n) shifted past the batches before it.
    const across = <T>(pick: (b: EventBatch, offset: number) => T[]) =>
      batches.flatMap((b, i) => pick(b, offsets[i]));
    const events = across((b, o) => b.events.map((e, i) => ({ roomId: b.roomId, ...e, ord: o + i + 1 })));
    const closes = across((b, o) => b.closes.map((c) => ({ roomId: b.roomId, ...c, ord: c.ord + o })));
    const state = across((b, o) =>
      b.state.map((s) => ({
        roomId: b.roomId,
        ...s,
        ord: s.ord + o,
        toOrd: s.toOrd === null ? null : s.toOrd + o,
      })),
    );
    const members = across((b, o) => b.memberships.map((m) => ({ roomId: b.roomId, ...m, ord: m.ord + o })));
    const row = await tx.one<{ base: string }>(PERSIST_BATCHES_SQL, [
      total,
      events.map((e) => e.roomId),
      events.map((e) => e.eventId),
      events.map((e) => e.type),
      events.map((e) => e.stateKey),
      events.map((e) => e.sender),
      events.map((e) => e.depth),
      events.map((e) => e.ts),
      events.map((e) => e.pdu),
      events.map((e) => e.replacesState),
      events.map((e) => e.prevContent),
      events.map((e) => e.prevSender),
      events.map((e) => e.txnDevice),
      events.map((e) => e.txnScope),
      events.map((e) => e.txnId),
      closes.map((c) => c.roomId),
      closes.map((c) => c.type),
      closes.map((c) => c.stateKey),
      closes.map((c) => c.ord),
      state.map((s) => s.roomId),
      state.map((s) => s.type),
      state.map((s) => s.stateKey),
      state.map((s) => s.eventId),
      state.map((s) => s.ord),
      state.map((s) => s.toOrd),
      members.map((m) => m.roomId),
      members.map((m) => m.userId),
      members.map((m) => m.membership),
      members.map((m) => m.eventId),
      members.map((m) => m.ord),
      members.map((m) => m.sender),
      members.map((m) => m.isLocal),
      members.map((m) => m.displayName),
      members.map((m) => m.avatarUrl),
      batches.map((b) => b.roomId),
      batches.map((b) => b.lastEventId),
      batches.map((b) => b.lastDepth),
    ]);
    const base = Number(row!.base);
    return offsets.map((o) => base + o);
  }

  /** Replaces an event's stored PDU with its redacted form. */
  async applyRedaction(
    eventId: string,
    redactedPdu: string,
    redactionId: string,
    tx: Queryable,
  ): Promise<void> {
    const row = await tx.one<{ room_id: string; type: string; state_key: string | null }>(
      `UPDATE room_events SET pdu = $2, redacted_by = $3 WHERE event_id = $1 RETURNING room_id, type, state_key`,
      [eventId, redactedPdu, redactionId],
    );
    // A redacted member event loses its display name and avatar: so does the membership it set.
    if (row?.type === 'm.room.member' && row.state_key !== null) {
      await tx.exec(
        `UPDATE room_memberships SET display_name = NULL, avatar_url = NULL
         WHERE room_id = $1 AND user_id = $2 AND event_id = $3`,
        [row.room_id, row.state_key, eventId],
      );
    }
  }

  /** Content of those of the given events that have been redacted (what prev_content must show of them). */
  async redactedContents(eventIds: string[]): Promise<Map<string, Record<string, unknown>>> {
    eventIds = eventIds.filter(storable);
    if (eventIds.length === 0) return new Map();
    const rows = await this.sql.query<{ event_id: string; pdu: string }>(
      `SELECT event_id, pdu FROM room_events WHERE event_id = ANY($1) AND redacted_by IS NOT NULL`,
      [eventIds],
    );
    return new Map(rows.map((r) => [r.event_id, (JSON.parse(r.pdu) as Pdu).content]));
  }

  /**
   * Which of these client transactions already have an event, as a statement with literal values
   * to open a transaction with (see SqlService).
   */
  usedTxnsStatement(txns: ClientTxn[]): string {
    // One index probe per transaction (LATERAL … LIMIT 1 cannot be turned into a join): statistics
    // gathered when few events had transactions would otherwise have the whole index scanned.
    return `SELECT x.* FROM unnest(${textArray(txns.map((t) => t.sender))}, ${textArray(txns.map((t) => t.device))},
                  ${textArray(txns.map((t) => t.scope))}, ${textArray(txns.map((t) => t.id))}) AS t(sender, device, scope, id)
      CROSS JOIN LATERAL (
        SELECT e.sender, e.txn_device AS device, e.txn_scope AS scope, e.txn_id AS id FROM room_events e
        WHERE e.sender = t.sender AND e.txn_device = t.device AND e.txn_scope = t.scope AND e.txn_id = t.id
          AND e.txn_id IS NOT NULL
        LIMIT 1
      ) x`;
  }

  async findByTxn(
    sender: string,
    device: string,
    scope: string,
    txnId: string,
    db: Queryable = this.sql,
  ): Promise<string | null> {
    const row = await db.one<{ event_id: string }>(
      `SELECT event_id FROM room_events WHERE sender = $1 AND txn_device = $2 AND txn_scope = $3 AND txn_id = $4`,
      [sender, device, scope, txnId],
    );
    return row?.event_id ?? null;
  }

  async find(eventId: string, db: Queryable = this.sql): Promise<StoredEvent | null> {
    if (!storable(eventId)) return null;
    const row = await db.one<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events e WHERE e.event_id = $1`, [
      eventId,
    ]);
    return row ? toStoredEvent(row) : null;
  }

  async findMany(eventIds: string[]): Promise<StoredEvent[]> {
    eventIds = eventIds.filter(storable);
    if (eventIds.length === 0) return [];
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events e WHERE e.event_id = ANY($1)`,
      [eventIds],
    );
    return rows.map(toStoredEvent);
  }

  /**
   * Events of a room in a stream range, newest first when backwards. `after` < pos <= `upTo`.
   */
  async range(
    roomId: string,
    after: number,
    upTo: number,
    limit: number,
    direction: 'b' | 'f',
  ): Promise<StoredEvent[]> {
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events e
       WHERE e.room_id = $1 AND e.stream_pos > $2 AND e.stream_pos <= $3
       ORDER BY e.stream_pos ${direction === 'b' ? 'DESC' : 'ASC'} LIMIT $4`,
      [roomId, after, upTo, limit],
    );
    return rows.map(toStoredEvent);
  }

  /** The latest `limit` events (oldest first) of each room in (after, upTo], plus whether more were cut. */
  async recentPerRoom(
    roomIds: string[],
    after: number,
    upTo: number,
    limit: number,
  ): Promise<Map<string, { events: StoredEvent[]; limited: boolean }>> {
    const result = new Map<string, { events: StoredEvent[]; limited: boolean }>();
    if (roomIds.length === 0) return result;
    const rows = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM unnest($1::text[]) AS r(room_id)
       CROSS JOIN LATERAL (
         SELECT * FROM room_events e WHERE e.room_id = r.room_id AND e.stream_pos > $2 AND e.stream_pos <= $3
         ORDER BY e.stream_pos DESC LIMIT $4
       ) e`,
      [roomIds, after, upTo, limit + 1],
    );
    for (const row of rows) {
      const entry = result.get(row.room_id) ?? { events: [], limited: false };
      entry.events.push(toStoredEvent(row));
      result.set(row.room_id, entry);
    }
    for (const entry of result.values()) {
      entry.events.sort((a, b) => a.stream_pos - b.stream_pos);
      if (entry.events.length > limit) {
        entry.limited = true;
        entry.events = entry.events.slice(entry.events.length - limit);
      }
    }
    return result;
  }

  /** Count of messages from others after a position (unread notifications). */
  /** Messages and encrypted events from others in (after, upTo], not redacted: unread, notifying or not. */
  async countMessagesAfter(roomId: string, after: number, upTo: number, userId: string): Promise<number> {
    const row = await this.sql.one<{ n: string }>(
      `SELECT count(*) AS n FROM room_events
       WHERE room_id = $1 AND stream_pos > $2 AND stream_pos <= $3 AND sender <> $4
         AND type IN ('m.room.message', 'm.room.encrypted') AND redacted_by IS NULL`,
      [roomId, after, upTo, userId],
    );
    return Number(row!.n);
  }

  /**
   * Among the latest MENTION_WINDOW unread messages from others in (after, upTo], those whose JSON
   * text holds "m.notice", "m.replace" or any of `needles` (case-insensitively; give them
   * JSON-escaped): the few candidates for a notice, an edit or a mention, for the caller to check
   * on the parsed content. The window keeps a sync's cost the same however far behind the read
   * receipt is; the text test keeps it from parsing messages that cannot matter.
   */
  async recentUnreadCandidates(
    roomId: string,
    after: number,
    upTo: number,
    userId: string,
    needles: string[],
  ): Promise<Pdu[]> {
    const rows = await this.sql.query<{ pdu: string }>(
      `SELECT pdu FROM (
         SELECT pdu FROM room_events
         WHERE room_id = $1 AND stream_pos > $2 AND stream_pos <= $3 AND sender <> $4
           AND type = 'm.room.message' AND redacted_by IS NULL
         ORDER BY stream_pos DESC LIMIT ${MENTION_WINDOW}
       ) latest
       WHERE strpos(pdu, '"m.notice"') > 0 OR strpos(pdu, '"m.replace"') > 0
          OR EXISTS (SELECT 1 FROM unnest($5::text[]) AS n WHERE strpos(lower(pdu), lower(n)) > 0)`,
      [roomId, after, upTo, userId, needles],
    );
    return rows.map((r) => JSON.parse(r.pdu) as Pdu);
  }

  async positionOf(eventId: string): Promise<{ room_id: string; stream_pos: number } | null> {
    if (!storable(eventId)) return null;
    const row = await this.sql.one<{ room_id: string; stream_pos: string }>(
      `SELECT room_id, stream_pos FROM room_events WHERE event_id = $1`,
      [eventId],
    );
    return row ? { room_id: row.room_id, stream_pos: Number(row.stream_pos) } : null;
  }
}
