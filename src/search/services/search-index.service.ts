import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { AppConfig, ConfigError } from '../../config/app-config.js';
import { SqlService } from '../../database/sql.service.js';
import type { JobContext } from '../../jobs/job-context.js';
import { JobService, type StartedJob } from '../../jobs/job.service.js';
import { JobName, type JobResults } from '../../jobs/job.types.js';
import { OnJob } from '../../jobs/on-job.decorator.js';
import { EventsPersistedEvent, type EventsPersisted } from '../../rooms/rooms.events.js';
import {
  INDEXED_TYPES,
  SearchIndexRepository,
  type IndexOutcome,
} from '../repositories/search-index.repository.js';

/** Events per indexing statement, for the reindex (Dendrite's batch size) and the catch-up. */
export const INDEX_BATCH = 1000;
/** Reindex batches running at once: to_tsvector is CPU-bound in PostgreSQL, so two keep two cores busy. */
const REINDEX_CONCURRENCY = 2;
/** Batches started but not yet booked (finished ones wait for those before them): bounds the work a crash repeats. */
const REINDEX_WINDOW = 8;
/** How long the catch-up waits after a write, so that a burst of writes costs one catch-up. */
const CATCH_UP_DELAY_MS = 1000;

interface ReindexCheckpoint {
  /** Every indexable event at or below this position has been indexed by this job. */
  after: number;
  done: number;
  indexed: number;
  total: number;
  startedAt: number;
}

/** One reindex batch: events in (previous batch's end, end]. */
interface Batch {
  end: number;
  finished: boolean;
  failed: boolean;
  outcome?: IndexOutcome;
  error?: unknown;
  settled: Promise<void>;
}

const isIndexed = (type: string) => (INDEXED_TYPES as string[]).includes(type);

/**
 * Keeps the search index in step with the events:
 *
 * - New events are indexed right after their batch commits (the writer awaits this listener, so a
 *   message is searchable once its send has answered). Redactions remove their target's row.
 * - The listener runs after the commit, so a process that dies in between leaves events out. A
 *   catch-up walks room_events from a high-water mark (search_position) and indexes whatever is
 *   above it; it runs at start-up and shortly after writes, so the mark stays close to the head.
 * - The reindex job rebuilds everything in batches with upserts: the index is never cleared, and
 *   search answers from it throughout.
 */
@Injectable()
export class SearchIndexService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SearchIndex');
  private catchUpRun: Promise<void> | null = null;
  private catchUpWanted = false;
  private catchUpTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(
    private readonly index: SearchIndexRepository,
    private readonly sql: SqlService,
    private readonly config: AppConfig,
    private readonly jobs: JobService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Checked here rather than with the other settings: only the database knows its configurations.
    if (!(await this.index.languageExists(this.config.SEARCH_LANGUAGE))) {
      throw new ConfigError(
        `SEARCH_LANGUAGE "${this.config.SEARCH_LANGUAGE}" is not a text search configuration of this PostgreSQL server (psql: \\dF lists them; e.g. english, german, simple)`,
      );
    }
    this.requestCatchUp();
  }

  /** Before the database pool closes (that happens in the shutdown phase). */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.catchUpTimer) clearTimeout(this.catchUpTimer);
    await this.catchUpRun;
  }

  @OnEvent(EventsPersistedEvent, { async: true, promisify: true })
  async onEventsPersisted(batch: EventsPersisted): Promise<void> {
    try {
      const ids = batch.events
        .filter((e) => isIndexed(e.pdu.type) || e.pdu.type === 'm.room.redaction')
        .map((e) => e.event_id);
      if (ids.length > 0 || batch.redacted.length > 0) {
        // Committed without waiting for the WAL flush (see SqlService.derived): searchable as soon as
        // the sender has its answer, and the catch-up repairs what a crash of PostgreSQL loses.
        await this.index.indexEvents(this.config.SEARCH_LANGUAGE, ids, batch.redacted, this.sql.derived);
      }
    } finally {
      this.scheduleCatchUp();
    }
  }

  /** Starts the reindex job, or joins the one already queued or running. */
  startReindex(): Promise<StartedJob> {
    return this.jobs.start(JobName.SearchReindex, {});
  }

  /**
   * Removes a room's rows in batches (the purge of a room), going through the room's events: call
   * it before the events are deleted. (Rows that outlive their event anyway are cleared by the next
   * reindex, whose batches keep only rows of current events.)
   */
  async deleteRoom(roomId: string): Promise<number> {
    let deleted = 0;
    for (let after = 0; ;) {
      const batch = await this.deleteRoomBatch(roomId, after, INDEX_BATCH);
      if (!batch) return deleted;
      deleted += batch.deleted;
      after = batch.last;
    }
  }

  /**
   * Removes the rows of the room's next `limit` events after stream position `after` (one short
   * transaction); null when the room has no events after it. A purge that deletes the events in
   * the same steps calls this for each step before deleting that step's events.
   */
  deleteRoomBatch(roomId: string, after: number, limit: number) {
    return this.index.deleteRoomBatch(roomId, after, limit);
  }

  @OnJob(JobName.SearchReindex)
  async reindex(
    _payload: Record<string, never>,
    ctx: JobContext<ReindexCheckpoint>,
  ): Promise<JobResults[JobName.SearchReindex]> {
    const saved = ctx.checkpoint;
    const startedAt = saved.startedAt ?? Date.now();
    const total = saved.total ?? (await this.index.countIndexable());
    let after = saved.after ?? 0;
    let done = saved.done ?? 0;
    let indexed = saved.indexed ?? 0;
    await ctx.log(
      after === 0
        ? `Starting to index events (${total} to go through)`
        : `Resuming indexing after stream position ${after} (${done}/${total})`,
    );

    // Batches run concurrently, and a new one starts as soon as any finishes; they are booked in
    // order of their positions, so the checkpoint only ever moves past finished work.
    const window: Batch[] = [];
    let next = after;
    let exhausted = false;
    const running = () => window.filter((b) => !b.finished).length;
    const fill = async () => {
      while (!exhausted && running() < REINDEX_CONCURRENCY && window.length < REINDEX_WINDOW) {
        const end = await this.index.nextBatchEnd(next, INDEX_BATCH, true);
        if (end === null) {
          exhausted = true;
          return;
        }
        const batch: Batch = { end, finished: false, failed: false, settled: Promise.resolve() };
        batch.settled = this.index
          .indexRange(this.config.SEARCH_LANGUAGE, next, end)
          .then(
            (outcome) => void (batch.outcome = outcome),
            (err: unknown) => {
              batch.failed = true;
              batch.error = err;
            },
          )
          .finally(() => (batch.finished = true));
        window.push(batch);
        next = end;
      }
    };
    for (;;) {
      await fill();
      if (window.length === 0) break;
      if (!window[0].finished) await Promise.race(window.filter((b) => !b.finished).map((b) => b.settled));
      await fill();
      while (window[0]?.finished) {
        const batch = window.shift()!;
        if (batch.failed) throw batch.error;
        const outcome = batch.outcome!;
        if (outcome.skipped.length > 0) await ctx.log(leftOut(outcome.skipped));
        after = batch.end;
        done += outcome.fetched;
        indexed += outcome.indexed;
        const shownTotal = Math.max(total, done);
        await ctx.progress(done, shownTotal);
        await ctx.saveCheckpoint({ after, done, indexed, total, startedAt });
        await ctx.log(`Indexed ${outcome.fetched} events (${done}/${shownTotal})`);
      }
    }

    await this.index.flushPendingEntries();
    const seconds = Math.round((Date.now() - startedAt) / 10) / 100;
    await ctx.progress(done, Math.max(total, done), true);
    await ctx.log(`Indexed ${indexed} events in ${seconds} s`);
    return { indexed, seconds };
  }

  /** Runs the catch-up a moment from now (once for a burst of writes). */
  private scheduleCatchUp(): void {
    if (this.catchUpTimer || this.stopping) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = null;
      this.requestCatchUp();
    }, CATCH_UP_DELAY_MS);
    this.catchUpTimer.unref();
  }

  /** Runs the catch-up now, or once more after the running one (which may have started before the latest write). */
  private requestCatchUp(): void {
    if (this.stopping) return;
    if (this.catchUpRun) {
      this.catchUpWanted = true;
      return;
    }
    this.catchUpRun = this.catchUp()
      .catch((err: unknown) =>
        // The mark has not moved past what failed: the next catch-up retries it.
        this.logger.warn(`Search index catch-up failed: ${(err as Error).message}`),
      )
      .finally(() => {
        this.catchUpRun = null;
        if (this.catchUpWanted) {
          this.catchUpWanted = false;
          this.requestCatchUp();
        }
      });
  }

  private async catchUp(): Promise<void> {
    let batches = 0;
    let indexed = 0;
    let from = 0;
    while (!this.stopping) {
      const step = await this.sql.transaction(async (tx) => {
        const mark = await this.index.lockPosition(tx);
        const end = await this.index.nextBatchEnd(mark, INDEX_BATCH, false, tx);
        if (end === null) return null;
        const outcome = await this.index.catchUpRange(this.config.SEARCH_LANGUAGE, mark, end, tx);
        await this.index.setPosition(end, tx);
        return { mark, end, outcome };
      });
      if (!step) break;
      if (step.outcome.skipped.length > 0) this.logger.error(leftOut(step.outcome.skipped));
      if (batches++ === 0) from = step.mark;
      indexed += step.outcome.indexed;
      // More than one batch means events had been left out (a crash, or a first start on old data).
      if (batches > 1) {
        this.logger.log(
          `Search index catch-up: ${indexed} events indexed from position ${from} to ${step.end}`,
        );
      }
    }
  }
}

function leftOut(positions: number[]): string {
  return `Left out of the search index, as PostgreSQL refused their content: the events at stream positions ${positions.join(', ')}`;
}
