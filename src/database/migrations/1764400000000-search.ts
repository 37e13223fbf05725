import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The full-text search index: one row per indexed event (m.room.message body, m.room.name,
 * m.room.topic), derived from room_events and rebuildable from it at any time.
 *
 * search_position is the catch-up high-water mark: every event at or below it has been looked at
 * by the indexer. Indexing runs after the writer's commit, so a crash between the two leaves
 * events above the mark, which the next catch-up (at start-up or on the next write) picks up.
 */
export class Search1764400000000 implements MigrationInterface {
  name = 'Search1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE search_events (
        -- the event's position in room_events: unique like the event ID, and a key that new rows
        -- append to (a random text key costs the reindex a fifth of its time)
        stream_pos  BIGINT   PRIMARY KEY,
        event_id    TEXT     NOT NULL,
        room_id     TEXT     NOT NULL,
        sender      TEXT     NOT NULL,
        -- which content key the text came from: content.body, content.name or content.topic
        key         TEXT     NOT NULL,
        vector      TSVECTOR NOT NULL
      )`);
    // The only other index. A room_id index would tempt the planner, whenever it cannot see the
    // rooms a search covers, into reading every row of those rooms instead of the term's few; a
    // purged room's rows are found through room_events' (room_id, stream_pos) index instead.
    await q.query(`CREATE INDEX search_events_vector_idx ON search_events USING GIN (vector)`);

    await q.query(`
      CREATE TABLE search_position (
        id           BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
        indexed_pos  BIGINT  NOT NULL
      )`);
    // Start at 0: the first catch-up indexes the events written before this migration.
    await q.query(`INSERT INTO search_position (indexed_pos) VALUES (0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE search_position`);
    await q.query(`DROP TABLE search_events`);
  }
}
