import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '../../database/redis.service.js';
import { WAKEUP_CHANNEL, type Wakeup } from '../../database/stream-notifier.service.js';

interface Waiter {
  userId: string;
  roomIds: Set<string>;
  fired: boolean;
  resolve?: () => void;
}

export interface WakeupListener {
  /** Resolves when something for this user happens, or at the deadline. */
  wait(deadline: number): Promise<void>;
  dispose(): void;
}

/**
 * Wakes /sync long-polls. Every API process subscribes to the Redis wake-up channel, so an event
 * written by any process wakes a /sync waiting in any other within milliseconds.
 */
@Injectable()
export class WakeupService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WakeupService.name);
  private readonly waiters = new Set<Waiter>();
  private subscriber?: Redis;
  /** Set when the process starts shutting down: long-polls then answer at once (see onModuleDestroy). */
  private closing = false;

  constructor(private readonly redis: RedisService) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.connection();
    this.subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
    await this.subscriber.subscribe(this.redis.channel(WAKEUP_CHANNEL));
  }

  /**
   * Ends every long-poll, and any started from now on, with the answer as it stands: the HTTP
   * server closes only once its requests are answered, so a /sync left waiting would hold the
   * shutdown (a restart, a deployment) for the rest of its timeout.
   */
  onModuleDestroy(): void {
    this.closing = true;
    for (const w of this.waiters) w.resolve?.();
    this.waiters.clear();
  }

  /** Whether long-polls should stop waiting (the process is shutting down). */
  get stopping(): boolean {
    return this.closing;
  }

  /** Start listening before computing a response, so a wake-up in between is not missed. */
  listen(userId: string, roomIds: Iterable<string>): WakeupListener {
    const waiter: Waiter = { userId, roomIds: new Set(roomIds), fired: false };
    this.waiters.add(waiter);
    return {
      wait: (deadline) =>
        new Promise<void>((resolve) => {
          if (waiter.fired || this.closing) return resolve();
          const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          waiter.resolve = () => {
            clearTimeout(timer);
            resolve();
          };
        }),
      dispose: () => this.waiters.delete(waiter),
    };
  }

  private dispatch(message: string): void {
    let wakeup: Wakeup;
    try {
      wakeup = JSON.parse(message) as Wakeup;
    } catch {
      this.logger.warn(`Ignoring a malformed wake-up: ${message.slice(0, 100)}`);
      return;
    }
    const users = new Set(wakeup.userIds ?? []);
    const rooms = wakeup.roomIds ?? [];
    for (const w of this.waiters) {
      if (w.fired) continue;
      if (users.has(w.userId) || rooms.some((r) => w.roomIds.has(r))) {
        w.fired = true;
        w.resolve?.();
      }
    }
  }
}
