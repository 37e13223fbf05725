import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import type { Queryable } from '../../database/sql.service.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import { userId } from '../../common/matrix/ids.js';
import { AccountDataRepository, type AccountDataRow } from '../repositories/account-data.repository.js';

/** Global and per-room account data (tags are per-room `m.tag`). */
@Injectable()
export class AccountDataService {
  constructor(
    private readonly config: AppConfig,
    private readonly repo: AccountDataRepository,
    private readonly notifier: StreamNotifier,
  ) {}

  async get(localpart: string, roomId: string, type: string): Promise<Record<string, unknown>> {
    const row = await this.repo.get(localpart, this.config.SERVER_NAME, roomId, type);
    if (!row) throw M.notFound('Account data not found');
    return row.content;
  }

  async find(localpart: string, roomId: string, type: string): Promise<Record<string, unknown> | null> {
    return (await this.repo.get(localpart, this.config.SERVER_NAME, roomId, type))?.content ?? null;
  }

  /** Writes account data, wakes the user's /sync, and returns the stream position. */
  async put(
    localpart: string,
    roomId: string,
    type: string,
    content: Record<string, unknown>,
  ): Promise<number> {
    const position = await this.repo.put(localpart, this.config.SERVER_NAME, roomId, type, content);
    await this.notifier.notify({ userIds: [userId(localpart, this.config.SERVER_NAME)], position });
    return position;
  }

  listSince(localpart: string, since: number, upTo: number): Promise<AccountDataRow[]> {
    return this.repo.listSince(localpart, this.config.SERVER_NAME, since, upTo);
  }

  /** Everything the user keeps about one room (for a room new to a client's sync). */
  listForRoom(localpart: string, roomId: string): Promise<AccountDataRow[]> {
    return this.repo.listForRoom(localpart, this.config.SERVER_NAME, roomId);
  }

  async getTags(localpart: string, roomId: string): Promise<Record<string, Record<string, unknown>>> {
    const content = await this.find(localpart, roomId, 'm.tag');
    return (content?.tags as Record<string, Record<string, unknown>> | undefined) ?? {};
  }

  /** Adds or replaces one tag atomically (two clients tagging at once both win). */
  async setTag(
    localpart: string,
    roomId: string,
    tag: string,
    value: Record<string, unknown>,
  ): Promise<void> {
    const position = await this.repo.setTag(localpart, this.config.SERVER_NAME, roomId, tag, value);
    await this.notifier.notify({ userIds: [userId(localpart, this.config.SERVER_NAME)], position });
  }

  async deleteTag(localpart: string, roomId: string, tag: string): Promise<void> {
    const position = await this.repo.setTag(localpart, this.config.SERVER_NAME, roomId, tag, null);
    await this.notifier.notify({ userIds: [userId(localpart, this.config.SERVER_NAME)], position });
  }

  /** Local users who tagged a room with `tag` (e.g. who has it as their server-notice room). */
  usersWithRoomTag(roomId: string, tag: string): Promise<string[]> {
    return this.repo.usersWithRoomTag(roomId, tag);
  }

  deleteForRoom(roomId: string, db?: Queryable): Promise<number> {
    return this.repo.deleteForRoom(roomId, db);
  }
}
