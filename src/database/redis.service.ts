import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config.js';

/**
 * Redis connections. `client` prefixes every key with REDIS_KEY_PREFIX so several servers can
 * share one Redis; BullMQ forbids ioredis key prefixes and takes `bullPrefix` instead.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly keyPrefix: string;
  private readonly extra: Redis[] = [];

  constructor(private readonly config: AppConfig) {
    this.keyPrefix = `${config.REDIS_KEY_PREFIX}:`;
    this.client = new Redis(config.REDIS_URL, { keyPrefix: this.keyPrefix, lazyConnect: false });
  }

  get bullPrefix(): string {
    return `${this.config.REDIS_KEY_PREFIX}:bull`;
  }

  /** A pub/sub channel name within this server's namespace (channels are not key-prefixed by ioredis). */
  channel(name: string): string {
    return `${this.keyPrefix}${name}`;
  }

  /** A new connection (for blocking commands, subscriptions or BullMQ), closed on shutdown. */
  connection(options: RedisOptions = {}): Redis {
    const conn = new Redis(this.config.REDIS_URL, options);
    this.extra.push(conn);
    return conn;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.client, ...this.extra].map((c) => c.quit().catch(() => c.disconnect())));
  }
}
