import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

@Injectable()
export class FilterRepository {
  constructor(private readonly sql: SqlService) {}

  async create(userId: string, filter: Record<string, unknown>): Promise<string> {
    const row = await this.sql.one<{ filter_id: string }>(
      `INSERT INTO sync_filters (user_id, filter) VALUES ($1, $2) RETURNING filter_id`,
      [userId, JSON.stringify(filter)],
    );
    return row!.filter_id;
  }

  async get(userId: string, filterId: string): Promise<Record<string, unknown> | null> {
    if (!/^\d{1,18}$/.test(filterId)) return null;
    const row = await this.sql.one<{ filter: Record<string, unknown> }>(
      `SELECT filter FROM sync_filters WHERE filter_id = $1 AND user_id = $2`,
      [filterId, userId],
    );
    return row?.filter ?? null;
  }
}
