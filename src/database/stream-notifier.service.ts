import { Injectable } from '@nestjs/common';
import { RedisService } from './redis.service.js';
import { SqlService } from './sql.service.js';

export const WAKEUP_CHANNEL = 'sync:wakeup';

/** What changed: a room's timeline/state/ephemeral data, or a user's own data (account data, invites, devices). */
export interface Wakeup {
  roomIds?: string[];
  userIds?: string[];
  position: number;
}

/**
 * Publishes "something new at stream position N for these rooms/users" on Redis, so a /sync
 * long-poll in any API process wakes up. Writers call it after their transaction commits.
 */
@Injectable()
export class StreamNotifier {
  constructor(
    private readonly redis: RedisService,
    private readonly sql: SqlService,
  ) {}

  /**
   * The current stream head. Positions come from lattice_next_stream_pos(), whose row lock is held
   * until the writer commits, so every row at or below the head is committed and visible.
   */
  async head(): Promise<number> {
    const row = await this.sql.one<{ pos: string }>(`SELECT pos FROM lattice_stream_head`);
    return Number(row!.pos);
  }

  async notify(wakeup: Wakeup): Promise<void> {
    await this.redis.client.publish(this.redis.channel(WAKEUP_CHANNEL), JSON.stringify(wakeup));
  }
}
