import { Controller, Get, HttpCode } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { MatrixError } from './common/errors/matrix-error.js';
import { RedisService } from './database/redis.service.js';

/** Server-wide endpoints that belong to no domain module. */
@Controller()
export class AppController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly redis: RedisService,
  ) {}

  /** GET /_matrix/client/versions */
  @Get('_matrix/client/versions')
  versions() {
    return {
      versions: ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6'],
      unstable_features: {},
    };
  }

  /** GET /health: 200 once PostgreSQL and Redis both answer. */
  @Get('health')
  @HttpCode(200)
  async health() {
    try {
      await Promise.all([this.db.query('SELECT 1'), this.redis.client.ping()]);
    } catch (err) {
      throw new MatrixError('M_UNKNOWN', `Unhealthy: ${(err as Error).message}`, 503);
    }
    return { status: 'ok' };
  }
}
