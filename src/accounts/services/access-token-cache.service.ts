import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { userId } from '../../common/matrix/ids.js';
import { RedisService } from '../../database/redis.service.js';
import type { TokenOwnerRow } from '../repositories/device.repository.js';

export const TOKENS_REVOKED_CHANNEL = 'accounts:tokens-revoked';

/** Bounds the memory: an access token not seen for a while is simply read again. */
const MAX_ENTRIES = 100_000;
/**
 * How long an entry is trusted without hearing of a change. Revocations through the server reach
 * every process at once (below); this bounds what they cannot reach: an account deactivated or
 * demoted by SQL.
 */
export const TOKEN_CACHE_TTL_MS = 60_000;

const ownerOf = (row: TokenOwnerRow) => userId(row.localpart, row.server_name);

/**
 * Access token → device and account, so a busy client's requests do not each cost a database
 * round trip. Every change that ends a session or changes what a token grants goes through
 * revokeUser(): this process forgets the user's tokens before the change is answered, and every
 * other API process when the Redis message reaches it (a millisecond or so later). A process whose
 * subscription is down may miss such messages, so until it is subscribed again it forgets
 * everything and reads every token from the database.
 */
@Injectable()
export class AccessTokenCache implements OnModuleInit {
  private readonly logger = new Logger(AccessTokenCache.name);
  private readonly entries = new LRUCache<string, TokenOwnerRow>({
    max: MAX_ENTRIES,
    ttl: TOKEN_CACHE_TTL_MS,
  });
  /** Bumped by every revocation: a read that started before one must not be cached. */
  private generation = 0;
  private subscribed = false;

  constructor(private readonly redis: RedisService) {}

  async onModuleInit(): Promise<void> {
    const channel = this.redis.channel(TOKENS_REVOKED_CHANNEL);
    // Named, so an operator (and a test) can tell it apart in CLIENT LIST.
    // (It subscribes again itself on every reconnection, below, rather than through ioredis.)
    const subscriber = this.redis.connection({ connectionName: channel, autoResubscribe: false });
    subscriber.on('message', (_channel: string, user: string) => this.forget(user));
    subscriber.on('close', () => {
      this.subscribed = false;
      this.forgetAll();
    });
    // After a reconnection: trust the cache again only once the subscription is back.
    subscriber.on('ready', () => {
      subscriber
        .subscribe(channel)
        .then(() => {
          this.forgetAll();
          this.subscribed = true;
        })
        .catch((err: Error) =>
          this.logger.warn(`Could not resubscribe to token revocations: ${err.message}`),
        );
    });
    await subscriber.subscribe(channel);
    this.subscribed = true;
  }

  /**
   * The owner of a token hash: from the cache, or from `load` (the database), which is then cached.
   * `fresh` always reads the database (admin routes, so that a promotion or demotion applies at once).
   */
  async lookup(
    hash: Buffer,
    load: () => Promise<TokenOwnerRow | null>,
    fresh = false,
  ): Promise<TokenOwnerRow | null> {
    const key = hash.toString('base64');
    if (!fresh && this.subscribed) {
      const hit = this.entries.get(key);
      if (hit) return hit;
    }
    const generation = this.generation;
    const row = await load();
    if (row && this.subscribed && generation === this.generation) this.entries.set(key, row);
    else this.entries.delete(key);
    return row;
  }

  /** Called after a user's sessions or account changed (and committed): every process re-reads their tokens. */
  async revokeUser(user: string): Promise<void> {
    this.forget(user);
    try {
      await this.redis.client.publish(this.redis.channel(TOKENS_REVOKED_CHANNEL), user);
    } catch (err) {
      // The change is committed; other processes still trust their copy for at most the TTL.
      this.logger.error(`Could not announce revoked tokens of ${user}: ${(err as Error).message}`);
    }
  }

  private forget(user: string): void {
    this.generation++;
    const keys: string[] = [];
    for (const [key, row] of this.entries.entries()) if (ownerOf(row) === user) keys.push(key);
    for (const key of keys) this.entries.delete(key);
  }

  private forgetAll(): void {
    this.generation++;
    this.entries.clear();
  }
}
