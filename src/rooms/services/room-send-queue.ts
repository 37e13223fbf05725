import { CommitOutcomeUnknownError } from '../../database/sql.service.js';
import type { EventDraft, SendResult } from './room-writer.service.js';

/** What the queue needs from the room writer. */
export interface QueuedWriter {
  /** Writes each room's drafts in one transaction, refused drafts skipped and reported (throws if any room fails). */
  persistRooms(batches: { roomId: string; drafts: EventDraft[] }[]): Promise<PersistedBatch[]>;
  /** Wakes /sync and runs the after-commit listeners for new events of one or more rooms. */
  announce(written: PersistedBatch[]): Promise<void>;
  /** Sends one draft in a transaction of its own, with the writer's answer for retried transactions. */
  sendAlone(roomId: string, draft: EventDraft): Promise<SendResult>;
}

export interface PersistedBatch extends SendResult {
  redacted: string[];
}

interface Waiting {
  draft: EventDraft;
  resolve: (result: SendResult) => void;
  reject: (err: unknown) => void;
}

interface RoomBatch {
  roomId: string;
  waiting: Waiting[];
  /** Called once every caller of the batch has its answer, so the room may send its next batch. */
  done: () => void;
}

/** The most events one transaction takes from the queues. */
const MAX_EVENTS_PER_WRITE = 200;

/**
 * Writes in flight per process. Measured on two cores: a second one overlaps this process's
 * signing with PostgreSQL's work but halves the batches, which costs as much as it saves; more
 * throughput comes from more API processes (each with its own queue).
 */
const DEFAULT_WRITES_IN_FLIGHT = 1;

/**
 * Group commit for single sends. Each room has a queue (so its drafts keep their order), and the
 * process has a write in flight: the rooms' batches that queue up meanwhile are written
 * together in the next transaction. A busy server thus pays for BEGIN, COMMIT, the stream head,
 * the durability wait, the search indexing and the /sync wake-up once per batch instead of once
 * per event, and a quiet one sends at once. Nothing here outlives the requests waiting on it: a
 * process that dies loses only unanswered requests, whose transactions either committed whole or
 * not at all.
 */
export class RoomSendQueue {
  private readonly rooms = new Map<string, Waiting[]>();
  private readonly ready: RoomBatch[] = [];
  private inFlight = 0;

  constructor(
    private readonly writer: QueuedWriter,
    private readonly maxInFlight = DEFAULT_WRITES_IN_FLIGHT,
  ) {}

  send(roomId: string, draft: EventDraft): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      const waiting = { draft, resolve, reject };
      const queue = this.rooms.get(roomId);
      if (queue) {
        queue.push(waiting);
        return;
      }
      this.rooms.set(roomId, [waiting]);
      void this.drainRoom(roomId);
    });
  }

  /** Hands the room's drafts to the writer a batch at a time, in order, until none are left. */
  private async drainRoom(roomId: string): Promise<void> {
    const queue = this.rooms.get(roomId)!;
    while (queue.length > 0) {
      const waiting = queue.splice(0, MAX_EVENTS_PER_WRITE);
      await new Promise<void>((done) => {
        this.ready.push({ roomId, waiting, done });
        this.pump();
      });
    }
    this.rooms.delete(roomId);
  }

  /** Starts writes while there are ready batches and free slots; called whenever either appears. */
  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.ready.length > 0) {
      this.inFlight++;
      void this.writeNext().finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Writes as many ready rooms' batches as one transaction takes (never throws). */
  private async writeNext(): Promise<void> {
    const batches: RoomBatch[] = [];
    let events = 0;
    while (
      this.ready.length > 0 &&
      (batches.length === 0 || events + this.ready[0].waiting.length <= MAX_EVENTS_PER_WRITE)
    ) {
      const batch = this.ready.shift()!;
      batches.push(batch);
      events += batch.waiting.length;
    }
    let written: PersistedBatch[];
    try {
      written = await this.writer.persistRooms(
        batches.map((b) => ({ roomId: b.roomId, drafts: b.waiting.map((w) => w.draft) })),
      );
    } catch (err) {
      if (err instanceof CommitOutcomeUnknownError) {
        // The events may be stored: sending them again could store them twice.
        for (const batch of batches) {
          for (const w of batch.waiting) w.reject(err);
          batch.done();
        }
        return;
      }
      // Rolled back as a whole (a purged room, a reused transaction ID, an event too large): each
      // draft goes alone, so each caller gets the answer it would have had. Outside this write's
      // slot, so that nothing these sends wait for can wait for the slot.
      void (async () => {
        for (const batch of batches) {
          await this.alone(batch.roomId, batch.waiting);
          batch.done();
        }
      })();
      return;
    }
    // One announcement for the whole group: one /sync wake-up and one search-index statement.
    const announced = this.writer.announce(written).catch(() => undefined);
    batches.forEach((batch, i) => void this.settle(batch, written[i], announced));
  }

  /**
   * After the commit: refused drafts go again alone (a 403, or for a reused transaction ID the
   * original event); the others' callers are answered once the group is announced (searchable,
   * /sync woken), as a lone send would be; then the room may write its next batch. (Waiting for the
   * announcement lets more of the room's drafts gather: measured, it writes fewer, bigger batches.)
   * Never throws.
   */
  private async settle(batch: RoomBatch, written: PersistedBatch, announced: Promise<void>): Promise<void> {
    const refused = new Set(written.rejected.map((r) => r.draft));
    if (refused.size > 0) {
      await this.alone(
        batch.roomId,
        batch.waiting.filter((w) => refused.has(w.draft)),
      );
    }
    await announced;
    let next = 0;
    for (const waiting of batch.waiting) {
      if (!refused.has(waiting.draft)) waiting.resolve({ events: [written.events[next++]], rejected: [] });
    }
    batch.done();
  }

  private async alone(roomId: string, waiting: Waiting[]): Promise<void> {
    for (const w of waiting) {
      try {
        w.resolve(await this.writer.sendAlone(roomId, w.draft));
      } catch (err) {
        w.reject(err);
      }
    }
  }
}
