import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import { EphemeralRepository } from '../repositories/ephemeral.repository.js';

/** How often each API process looks for typing notifications that timed out. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * Ends typing notifications when their timeout passes: the end gets a stream position and a /sync
 * wake-up, like a typing:false. The state is in PostgreSQL, so any API process can end any
 * notification: each sweeps every second (an index probe that finds nothing, usually), which also
 * covers a notification whose process died. The process that accepted a notification also sets a
 * timer for its exact expiry, so the end normally reaches clients at once rather than up to a
 * second late.
 */
@Injectable()
export class TypingExpiryService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TypingExpiryService.name);
  private interval?: NodeJS.Timeout;
  private readonly timers = new Set<NodeJS.Timeout>();
  private sweeping?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly repo: EphemeralRepository,
    private readonly notifier: StreamNotifier,
  ) {}

  onModuleInit(): void {
    if (!this.config.runsHttp) return;
    this.interval = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.interval.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.sweeping;
  }

  /** A notification accepted here expires at `expiresTs`: end it then. */
  expireAt(expiresTs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        void this.sweep();
      },
      Math.max(0, expiresTs - Date.now()),
    );
    timer.unref();
    this.timers.add(timer);
  }

  /** One sweep at a time per process; a sweep asked for during one runs right after it. */
  sweep(): Promise<void> {
    if (this.sweeping) {
      this.again = true;
      return this.sweeping;
    }
    this.sweeping = (async () => {
      do {
        this.again = false;
        await this.expireDue();
      } while (this.again && !this.stopped);
    })().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async expireDue(): Promise<void> {
    try {
      const now = Date.now();
      // Check without locks first: the expiring transaction locks the stream head, which every writer needs.
      if (!(await this.repo.hasExpiredTyping(now))) return;
      const ended = await this.repo.expireTyping(now);
      if (ended.length === 0) return;
      await this.notifier.notify({
        roomIds: [...new Set(ended.map((r) => r.room_id))],
        position: Math.max(...ended.map((r) => Number(r.stream_pos))),
      });
    } catch (err) {
      // The next sweep tries again; until then clients already hide expired typing (typingUsers filters on time).
      if (!this.stopped) this.logger.warn(`Could not end expired typing notifications: ${String(err)}`);
    }
  }
}
