import { Injectable } from '@nestjs/common';
import { pduJson } from '../../database/sql-literals.js';
import { SqlService, type Queryable } from '../../database/sql.service.js';

/** Event types whose text is indexed, and the content key each one's text comes from. */
export const INDEXED_KEYS = {
  'm.room.message': 'content.body',
  'm.room.name': 'content.name',
  'm.room.topic': 'content.topic',
} as const;
export type IndexedType = keyof typeof INDEXED_KEYS;
export type SearchKey = (typeof INDEXED_KEYS)[IndexedType];
export const INDEXED_TYPES = Object.keys(INDEXED_KEYS) as IndexedType[];
export const SEARCH_KEYS = Object.values(INDEXED_KEYS);

/** What one indexing statement did. */
export interface IndexOutcome {
  /** Indexable events looked at (messages, names, topics). */
  fetched: number;
  /** Events whose text is now in the index. */
  indexed: number;
  /** Index rows removed (redacted events, emptied text). */
  removed: number;
  /** Stream positions of events left out because PostgreSQL refused their content (see indexRangeOf). */
  skipped: number[];
}

/** A data exception (SQLSTATE class 22): PostgreSQL refused a value, here the content of an event. */
const isDataError = (err: unknown) => /^22/.test(String((err as { code?: unknown }).code ?? ''));

export interface SearchHit {
  event_id: string;
  room_id: string;
  stream_pos: number;
  rank: number;
}

export interface SearchQuery {
  /** A tsquery in text form (already normalised by the configured language). */
  tsquery: string;
  rooms: string[];
  keys: SearchKey[] | null;
  senders: string[] | null;
  notSenders: string[];
  order: 'rank' | 'recent';
  /** Continue strictly after this point of the ordering. */
  after: { pos: number; rank?: number } | null;
  limit: number;
}

/**
 * The body of every indexing statement, after a `batch` CTE of room_events rows
 * (stream_pos, event_id, room_id, type, sender, pdu, redacted_by):
 *
 * - docs: the batch's messages, names and topics with their text as a tsvector, skipping redacted
 *   events, empty text, and messages sent into a room after it turned on encryption (such a
 *   message is plaintext a client should not have sent; the server must not surface it).
 * - up: upserts those whose row is missing or differs. Unchanged rows are neither written nor
 *   locked, so a reindex over an up-to-date index writes nothing and search keeps answering from
 *   the same rows throughout. (ON CONFLICT still settles a row inserted concurrently.)
 * - gone: removes the `stale` rows (see below) that are not in docs, the rows of events redacted by a
 *   redaction in the batch, and those of the extra event IDs in $3.
 *
 * $1 is the text search configuration; `stale` selects the positions whose rows must match docs.
 */
const indexBody = (stale: string) => `
  parsed AS MATERIALIZED (
    SELECT b.event_id, b.room_id, b.sender, b.stream_pos, b.type, k.field,
           ${pduJson('b.pdu')} -> 'content' -> k.field AS value
    FROM batch b
    CROSS JOIN LATERAL (
      SELECT CASE b.type WHEN 'm.room.message' THEN 'body' WHEN 'm.room.name' THEN 'name' ELSE 'topic' END AS field
    ) k
    WHERE b.type IN ('m.room.message', 'm.room.name', 'm.room.topic') AND b.redacted_by IS NULL
  ),
  encrypted AS (
    SELECT rs.room_id, rs.from_pos FROM room_state rs
    WHERE rs.room_id IN (SELECT room_id FROM parsed WHERE type = 'm.room.message')
      AND rs.type = 'm.room.encryption' AND rs.state_key = '' AND rs.to_pos IS NULL
  ),
  docs AS (
    SELECT p.event_id, p.room_id, p.sender, p.stream_pos, 'content.' || p.field AS key,
           to_tsvector($1::regconfig, p.value #>> '{}') AS vector
    FROM parsed p
    WHERE json_typeof(p.value) = 'string' AND btrim(p.value #>> '{}') <> ''
      AND NOT (p.type = 'm.room.message'
               AND EXISTS (SELECT 1 FROM encrypted x WHERE x.room_id = p.room_id AND x.from_pos < p.stream_pos))
  ),
  up AS (
    INSERT INTO search_events AS s (event_id, room_id, sender, key, stream_pos, vector)
    SELECT d.event_id, d.room_id, d.sender, d.key, d.stream_pos, d.vector FROM docs d
    WHERE NOT EXISTS (
      SELECT 1 FROM search_events x WHERE x.stream_pos = d.stream_pos AND x.key = d.key AND x.vector = d.vector
    )
    -- Every writer inserts in position order: two that meet on the same new rows then wait for
    -- each other in one direction only, never in a cycle (a deadlock).
    ORDER BY d.stream_pos
    ON CONFLICT (stream_pos) DO UPDATE SET key = EXCLUDED.key, vector = EXCLUDED.vector
    RETURNING 1
  ),
  gone AS (
    DELETE FROM search_events s WHERE s.stream_pos IN (
      (${stale} EXCEPT SELECT stream_pos FROM docs)
      UNION ALL
      SELECT t.stream_pos FROM batch r
        JOIN room_events t ON t.event_id = COALESCE(${pduJson('r.pdu')} ->> 'redacts', ${pduJson('r.pdu')} -> 'content' ->> 'redacts')
      WHERE r.type = 'm.room.redaction' AND t.redacted_by = r.event_id
      UNION ALL
      -- A probe per ID: with \`event_id = ANY($3)\` an empty list is a provably false condition,
      -- which lets the planner pick any index (the partial transaction index, scanned whole).
      SELECT e.stream_pos FROM unnest($3::text[]) AS x(event_id)
        JOIN LATERAL (SELECT stream_pos FROM room_events WHERE event_id = x.event_id) e ON TRUE
    )
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM batch WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic'))::int AS fetched,
         (SELECT count(*) FROM docs)::int AS indexed,
         (SELECT count(*) FROM gone)::int AS removed,
         (SELECT count(*) FROM up)::int AS written`;

const BATCH_COLUMNS = `e.stream_pos, e.event_id, e.room_id, e.type, e.sender, e.pdu, e.redacted_by`;

/**
 * A room being purged is hidden at once and its rows deleted in steps: the range walks (reindex,
 * catch-up) leave its events alone rather than index what the purge is deleting (and a reindex
 * range then drops such rows, as rows of no current event).
 */
const NOT_PURGED = `NOT EXISTS (SELECT 1 FROM rooms r WHERE r.room_id = e.room_id AND r.purged_ts IS NOT NULL)`;

/**
 * Events in (after, upTo]: the indexable ones and the redactions among them. Every row in the
 * range must be one of docs, which also clears rows whose event is gone (a room purged while a
 * reindex had already read it).
 */
const INDEX_RANGE_SQL = `
  WITH batch AS (
    SELECT ${BATCH_COLUMNS} FROM room_events e
    WHERE e.stream_pos > $2 AND e.stream_pos <= $4
      AND e.type IN ('m.room.message', 'm.room.name', 'm.room.topic', 'm.room.redaction')
      AND ${NOT_PURGED}
  ),
  ${indexBody('SELECT stream_pos FROM search_events WHERE stream_pos > $2 AND stream_pos <= $4')}`;

/**
 * The catch-up: events in (after, upTo] that have no row yet, and the redactions among them.
 * Events the listener indexed after their commit (nearly all) are skipped without parsing their
 * text again, so the catch-up costs an index probe per event rather than a second to_tsvector.
 */
const CATCH_UP_RANGE_SQL = `
  WITH batch AS (
    SELECT ${BATCH_COLUMNS} FROM room_events e
    WHERE e.stream_pos > $2 AND e.stream_pos <= $4
      AND (e.type = 'm.room.redaction'
           OR (e.type IN ('m.room.message', 'm.room.name', 'm.room.topic')
               AND NOT EXISTS (SELECT 1 FROM search_events s WHERE s.stream_pos = e.stream_pos)))
      AND ${NOT_PURGED}
  ),
  ${indexBody(`SELECT stream_pos FROM batch WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')`)}`;

/** The given events (just written); $3 lists events they redacted. */
const INDEX_EVENTS_SQL = `
  WITH batch AS (SELECT ${BATCH_COLUMNS} FROM room_events e WHERE e.event_id = ANY($2::text[])),
  ${indexBody(`SELECT stream_pos FROM batch WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')`)}`;

/**
 * The search index (search_events) and its catch-up mark (search_position). The index is derived
 * from room_events, which it reads but never writes.
 */
@Injectable()
export class SearchIndexRepository {
  constructor(private readonly sql: SqlService) {}

  /** Indexes (or re-indexes) the given events and drops the rows of those they redacted. */
  async indexEvents(
    language: string,
    eventIds: string[],
    redacted: string[],
    db: Queryable = this.sql,
  ): Promise<IndexOutcome> {
    return toOutcome(await db.one(INDEX_EVENTS_SQL, [language, eventIds, redacted]));
  }

  /** Indexes every indexable event in (after, upTo], in one statement (outside a transaction). */
  indexRange(language: string, after: number, upTo: number): Promise<IndexOutcome> {
    return this.indexRangeOf(INDEX_RANGE_SQL, language, after, upTo, this.sql, false);
  }

  /** Indexes the events in (after, upTo] that are not indexed yet, in one statement of the transaction tx. */
  catchUpRange(language: string, after: number, upTo: number, tx: Queryable): Promise<IndexOutcome> {
    return this.indexRangeOf(CATCH_UP_RANGE_SQL, language, after, upTo, tx, true);
  }

  /**
   * Runs a range statement over (after, upTo]. Should PostgreSQL refuse the content of an event in
   * it (a data exception: an event stored before the checks that now keep such content out, such as
   * a lone surrogate), the range goes again an event at a time and the events that still fail are
   * left out and reported: one event must not stop indexing, the catch-up's and the reindex's, for
   * the whole server. In a transaction each attempt runs under a savepoint.
   */
  private async indexRangeOf(
    sql: string,
    language: string,
    after: number,
    upTo: number,
    db: Queryable,
    inTransaction: boolean,
  ): Promise<IndexOutcome> {
    const attempt = async (from: number, to: number): Promise<IndexOutcome | null> => {
      if (inTransaction) await db.exec('SAVEPOINT index_range');
      try {
        const outcome = toOutcome(await db.one(sql, [language, from, [], to]));
        if (inTransaction) await db.exec('RELEASE SAVEPOINT index_range');
        return outcome;
      } catch (err) {
        if (!isDataError(err)) throw err;
        if (inTransaction) await db.exec('ROLLBACK TO SAVEPOINT index_range');
        return null;
      }
    };
    const whole = await attempt(after, upTo);
    if (whole) return whole;
    const total: IndexOutcome = { fetched: 0, indexed: 0, removed: 0, skipped: [] };
    const positions = await db.query<{ stream_pos: string }>(
      `SELECT stream_pos FROM room_events WHERE stream_pos > $1 AND stream_pos <= $2 ORDER BY stream_pos`,
      [after, upTo],
    );
    let from = after;
    for (const row of positions) {
      const pos = Number(row.stream_pos);
      const one = await attempt(from, pos);
      if (one) {
        total.fetched += one.fetched;
        total.indexed += one.indexed;
        total.removed += one.removed;
      } else {
        total.skipped.push(pos);
      }
      from = pos;
    }
    return total;
  }

  /**
   * The position that closes the next batch after `after`: the `size`-th event after it (only
   * indexable ones when `indexableOnly`), or the last one when fewer are left; null when none are.
   */
  async nextBatchEnd(after: number, size: number, indexableOnly: boolean, db: Queryable = this.sql) {
    const row = await db.one<{ end: string | null }>(
      `SELECT max(stream_pos) AS end FROM (
         SELECT stream_pos FROM room_events
         WHERE stream_pos > $1 AND (NOT $3 OR type IN ('m.room.message', 'm.room.name', 'm.room.topic'))
         ORDER BY stream_pos LIMIT $2
       ) x`,
      [after, size, indexableOnly],
    );
    return row?.end == null ? null : Number(row.end);
  }

  /** How many events a full reindex goes through. */
  async countIndexable(): Promise<number> {
    const row = await this.sql.one<{ n: string }>(
      `SELECT count(*) AS n FROM room_events WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic')`,
    );
    return Number(row!.n);
  }

  /** Reads the catch-up mark, locking it until the transaction ends (one catch-up at a time, across processes). */
  async lockPosition(tx: Queryable): Promise<number> {
    const row = await tx.one<{ indexed_pos: string }>(`SELECT indexed_pos FROM search_position FOR UPDATE`);
    return Number(row!.indexed_pos);
  }

  async setPosition(pos: number, tx: Queryable): Promise<void> {
    await tx.exec(`UPDATE search_position SET indexed_pos = $1`, [pos]);
  }

  /**
   * Moves the GIN index's pending list (where fast inserts queue up) into the index proper:
   * every search scans that list, so after a bulk of inserts it is worth emptying at once.
   */
  async flushPendingEntries(): Promise<void> {
    await this.sql.query(`SELECT gin_clean_pending_list('search_events_vector_idx'::regclass)`);
  }

  /**
   * Deletes the rows of a room's next `limit` events after position `after`, found through
   * room_events' own (room_id, stream_pos) index; null when the room has no events left there.
   *
   * The walk along that index is forced (SET LOCAL, this transaction only): without statistics on
   * room_events (a freshly loaded database, autovacuum off) the planner guesses a few thousand
   * events per room and, for a larger batch, prefers a bitmap scan of the whole room and a sort,
   * which on a 1,000,000-event room made each of the first five batches take over half a second.
   */
  async deleteRoomBatch(
    roomId: string,
    after: number,
    limit: number,
  ): Promise<{ last: number; deleted: number } | null> {
    const row = await this.sql.transaction(
      (tx) =>
        tx.one<{ last: string | null; deleted: number }>(
          `WITH doomed AS (
             SELECT stream_pos FROM room_events WHERE room_id = $1 AND stream_pos > $2 ORDER BY stream_pos LIMIT $3
           ), gone AS (
             DELETE FROM search_events WHERE stream_pos IN (SELECT stream_pos FROM doomed) RETURNING 1
           )
           SELECT (SELECT max(stream_pos) FROM doomed) AS last, (SELECT count(*) FROM gone)::int AS deleted`,
          [roomId, after, limit],
        ),
      {
        opening: [
          'SET LOCAL enable_bitmapscan = off',
          'SET LOCAL enable_seqscan = off',
          'SET LOCAL synchronous_commit = off',
        ],
      },
    );
    return row?.last == null ? null : { last: Number(row.last), deleted: row.deleted };
  }

  /**
   * The configured language's form of a search term, as tsquery text; '' when nothing in it can be
   * looked up in the index (only stop words or punctuation, or only negations like "-word", which
   * would match nearly every row).
   */
  async parseQuery(language: string, term: string): Promise<string> {
    const row = await this.sql.one<{ q: string; tree: string }>(
      `SELECT q::text AS q, querytree(q) AS tree FROM websearch_to_tsquery($1::regconfig, $2) AS q`,
      [language, term],
    );
    return row!.tree === 'T' || row!.tree === '' ? '' : row!.q;
  }

  /** Whether PostgreSQL has the text search configuration. */
  async languageExists(language: string): Promise<boolean> {
    return (await this.sql.one(`SELECT 1 FROM pg_ts_config WHERE cfgname = $1`, [language])) !== null;
  }

  /**
   * One page of hits in the given order, plus the number of hits in all (before paging). Rank is
   * computed for every hit also when ordering by recency, because results report it. The rooms
   * are a hashed semi-join rather than `= ANY(array)`, which compares each hit with every room
   * (a user in a thousand rooms made that most of a common word's cost).
   */
  async search(q: SearchQuery): Promise<{ hits: SearchHit[]; total: number }> {
    const params: unknown[] = [q.tsquery, q.rooms, q.keys, q.senders, q.notSenders, q.limit];
    let cursor = 'TRUE';
    if (q.after && q.order === 'rank') {
      params.push(q.after.rank ?? 0, q.after.pos);
      cursor = '(m.rank, m.stream_pos) < ($7::real, $8::bigint)';
    } else if (q.after) {
      params.push(q.after.pos);
      cursor = 'm.stream_pos < $7::bigint';
    }
    const order = q.order === 'rank' ? 'm.rank DESC, m.stream_pos DESC' : 'm.stream_pos DESC';
    const rows = await this.sql.query<{
      event_id: string;
      room_id: string;
      stream_pos: string;
      rank: number;
      total: string;
    }>(
      `WITH m AS MATERIALIZED (
         SELECT s.event_id, s.room_id, s.stream_pos, ts_rank(s.vector, $1::tsquery) AS rank
         FROM search_events s
         WHERE s.vector @@ $1::tsquery AND s.room_id IN (SELECT unnest($2::text[]))
           AND ($3::text[] IS NULL OR s.key = ANY($3::text[]))
           AND ($4::text[] IS NULL OR s.sender = ANY($4::text[]))
           AND NOT (s.sender = ANY($5::text[]))
       )
       SELECT m.event_id, m.room_id, m.stream_pos, m.rank, (SELECT count(*) FROM m) AS total
       FROM m WHERE ${cursor} ORDER BY ${order} LIMIT $6`,
      params,
    );
    return {
      hits: rows.map((r) => ({
        event_id: r.event_id,
        room_id: r.room_id,
        stream_pos: Number(r.stream_pos),
        rank: Number(r.rank),
      })),
      total: rows.length > 0 ? Number(rows[0].total) : 0,
    };
  }

  /** The words of `texts` that match the query, as the configured language sees them (stems, prefixes). */
  async matchedWords(language: string, tsquery: string, texts: string[]): Promise<string[]> {
    if (texts.length === 0) return [];
    const rows = await this.sql.query<{ word: string }>(
      `SELECT DISTINCT m[1] AS word
       FROM unnest($3::text[]) AS t(text),
            LATERAL ts_headline($1::regconfig, t.text, $2::tsquery, $4) AS h,
            LATERAL regexp_matches(h, $5, 'g') AS m`,
      [language, tsquery, texts, HEADLINE_OPTIONS, HEADLINE_MATCH],
    );
    return rows.map((r) => r.word);
  }
}

// ts_headline wraps each match in these markers: control characters, which chat text does not hold.
const HEADLINE_OPTIONS = 'StartSel=\u0001, StopSel=\u0002, HighlightAll=true';
const HEADLINE_MATCH = '\u0001([^\u0002]*)\u0002';

function toOutcome(row: Record<string, unknown> | null): IndexOutcome {
  return {
    fetched: Number(row?.fetched ?? 0),
    indexed: Number(row?.indexed ?? 0),
    removed: Number(row?.removed ?? 0),
    skipped: [],
  };
}
