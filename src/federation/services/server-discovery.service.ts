import { Injectable } from '@nestjs/common';
import { promises as dns } from 'node:dns';
import { AppConfig } from '../../config/app-config.js';
import { RedisService } from '../../database/redis.service.js';
import { httpRequest } from './http-transport.js';
import {
  isValidServerName,
  resolveServer,
  type ResolvedServer,
  type SrvRecord,
} from './server-resolution.js';

const WELL_KNOWN_TIMEOUT_MS = 5_000;
const MAX_CACHE_MS = 48 * 3600_000;

/** Resolves server names to where their federation API listens; answers are cached in Redis for every process. */
@Injectable()
export class ServerDiscoveryService {
  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {}

  async resolve(serverName: string): Promise<ResolvedServer> {
    const override = this.config.federationDestinations[serverName];
    if (!override) {
      const cached = await this.redis.client.get(this.cacheKey(serverName));
      if (cached) return JSON.parse(cached) as ResolvedServer;
    }
    const { server, cacheMs } = await resolveServer(serverName, {
      overrides: this.config.federationDestinations,
      wellKnown: (host) => this.wellKnown(host),
      srv: (name) => this.srv(name),
    });
    if (!override && Number.isFinite(cacheMs)) {
      await this.redis.client.set(
        this.cacheKey(serverName),
        JSON.stringify(server),
        'PX',
        Math.min(cacheMs, MAX_CACHE_MS),
      );
    }
    return server;
  }

  private cacheKey(serverName: string): string {
    return `federation:resolve:${serverName}`;
  }

  private async wellKnown(host: string): Promise<string | null> {
    const res = await httpRequest(
      { baseUrl: `https://${host}`, hostHeader: host, tlsServerName: host },
      { method: 'GET', path: '/.well-known/matrix/server', timeoutMs: WELL_KNOWN_TIMEOUT_MS },
    );
    if (res.status === 404) return null;
    const delegated = (res.json as { 'm.server'?: unknown } | undefined)?.['m.server'];
    if (res.status !== 200 || !isValidServerName(delegated))
      throw new Error(`bad well-known answer from ${host}`);
    return delegated;
  }

  private async srv(name: string): Promise<SrvRecord[]> {
    try {
      return await dns.resolveSrv(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
      throw err;
    }
  }
}
