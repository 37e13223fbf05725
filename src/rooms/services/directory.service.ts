import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { parseRoomAlias, parseRoomId } from '../../common/matrix/ids.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { isAdmin } from '../../accounts/auth/requester.js';
import { PowerLevels } from '../events/event-auth.js';
import { AliasRepository } from '../repositories/alias.repository.js';
import { MembershipRepository } from '../repositories/membership.repository.js';
import { RoomRepository } from '../repositories/room.repository.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';

export interface PublicRoomChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  join_rule?: string;
}

/** Room aliases and the public room directory. */
@Injectable()
export class DirectoryService {
  constructor(
    private readonly config: AppConfig,
    private readonly aliases: AliasRepository,
    private readonly rooms: RoomRepository,
    private readonly state: RoomStateRepository,
    private readonly memberships: MembershipRepository,
  ) {}

  async resolveAlias(alias: string): Promise<{ room_id: string; servers: string[] }> {
    this.checkAlias(alias, false);
    const roomId = await this.aliases.resolve(alias);
    if (!roomId) throw M.notFound(`Room alias ${alias} not found`);
    return { room_id: roomId, servers: [this.config.SERVER_NAME] };
  }

  async createAlias(requester: Requester, alias: string, roomId: unknown): Promise<void> {
    this.checkAlias(alias, true);
    if (typeof roomId !== 'string') throw M.badJson('room_id is required');
    checkRoomId(roomId);
    const room = await this.rooms.find(roomId);
    if (!room || room.purged_ts !== null) throw M.notFound('Room not found');
    const me = await this.memberships.get(roomId, requester.userId);
    if (me?.membership !== 'join' && !isAdmin(requester))
      throw M.forbidden('You must be in the room to give it an alias');
    if (!(await this.aliases.create(alias, roomId, requester.userId))) {
      throw new MatrixError('M_UNKNOWN', `Room alias ${alias} already exists`, 409);
    }
  }

  async deleteAlias(requester: Requester, alias: string): Promise<void> {
    this.checkAlias(alias, true);
    const existing = await this.aliases.find(alias);
    if (!existing) throw M.notFound(`Room alias ${alias} not found`);
    if (
      existing.creator !== requester.userId &&
      !isAdmin(requester) &&
      !(await this.canChangeState(requester.userId, existing.room_id))
    ) {
      throw M.forbidden('You may not delete this alias');
    }
    await this.aliases.delete(alias);
  }

  async roomAliases(requester: Requester, roomId: string): Promise<{ aliases: string[] }> {
    checkRoomId(roomId);
    const me = await this.memberships.get(roomId, requester.userId);
    if (me?.membership !== 'join') throw M.forbidden('You are not joined to this room');
    return { aliases: await this.aliases.forRoom(roomId) };
  }

  async getVisibility(roomId: string): Promise<{ visibility: 'public' | 'private' }> {
    checkRoomId(roomId);
    const room = await this.rooms.find(roomId);
    if (!room || room.purged_ts !== null) throw M.notFound('Room not found');
    return { visibility: room.is_public ? 'public' : 'private' };
  }

  async setVisibility(requester: Requester, roomId: string, visibility: unknown): Promise<void> {
    if (visibility !== 'public' && visibility !== 'private')
      throw M.badJson("visibility must be 'public' or 'private'");
    checkRoomId(roomId);
    const room = await this.rooms.find(roomId);
    if (!room || room.purged_ts !== null) throw M.notFound('Room not found');
    if (!isAdmin(requester) && !(await this.canChangeState(requester.userId, roomId))) {
      throw M.forbidden('You may not change the directory visibility of this room');
    }
    await this.rooms.setPublic(roomId, visibility === 'public');
  }

  async publicRooms(
    limit: number,
    since: string | undefined,
    filterTerm?: string,
    server: string = this.config.SERVER_NAME,
  ) {
    // Rooms do not federate yet, so another server's directory cannot be fetched: an error rather
    // than this server's own list under another name.
    if (server !== this.config.SERVER_NAME) {
      throw M.invalidParam(
        `The room directory of ${server} cannot be fetched: this server does not federate rooms`,
      );
    }
    const offset = since === undefined ? 0 : Number(/^o(\d+)$/.exec(since)?.[1] ?? NaN);
    if (!Number.isInteger(offset)) throw M.invalidParam('Invalid since token');
    let total = await this.rooms.countPublic();
    const rows = await this.rooms.listPublic(filterTerm ? 1000 : limit, filterTerm ? 0 : offset);
    let chunk = await Promise.all(rows.map((r) => this.describe(r.room_id, Number(r.joined))));
    if (filterTerm) {
      const term = filterTerm.toLowerCase();
      chunk = chunk.filter((c) =>
        [c.name, c.topic, c.canonical_alias].some((v) => v?.toLowerCase().includes(term)),
      );
      // Page through the matches, not through the whole directory.
      total = chunk.length;
      chunk = chunk.slice(offset, offset + limit);
    }
    const next = offset + limit < total ? `o${offset + limit}` : undefined;
    return {
      chunk,
      total_room_count_estimate: total,
      ...(next ? { next_batch: next } : {}),
      ...(offset > 0 ? { prev_batch: `o${Math.max(0, offset - limit)}` } : {}),
    };
  }

  private async describe(roomId: string, joined: number): Promise<PublicRoomChunk> {
    const state = await this.state.currentOfTypes(roomId, [
      'm.room.name',
      'm.room.topic',
      'm.room.canonical_alias',
      'm.room.avatar',
      'm.room.join_rules',
      'm.room.history_visibility',
      'm.room.guest_access',
    ]);
    const c = (type: string) =>
      state.find((e) => e.pdu.type === type && e.pdu.state_key === '')?.pdu.content ?? {};
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const chunk: PublicRoomChunk = {
      room_id: roomId,
      num_joined_members: joined,
      world_readable: c('m.room.history_visibility').history_visibility === 'world_readable',
      guest_can_join: c('m.room.guest_access').guest_access === 'can_join',
    };
    const name = str(c('m.room.name').name);
    const topic = str(c('m.room.topic').topic);
    const alias = str(c('m.room.canonical_alias').alias);
    const avatar = str(c('m.room.avatar').url);
    const joinRule = str(c('m.room.join_rules').join_rule);
    if (name) chunk.name = name;
    if (topic) chunk.topic = topic;
    if (alias) chunk.canonical_alias = alias;
    if (avatar) chunk.avatar_url = avatar;
    if (joinRule) chunk.join_rule = joinRule;
    return chunk;
  }

  private async canChangeState(userId: string, roomId: string): Promise<boolean> {
    const [pl] = await this.state.current(roomId, [['m.room.power_levels', '']]);
    if (!pl) return false;
    const levels = new PowerLevels(pl.pdu.content, undefined);
    return levels.userLevel(userId) >= levels.eventLevel('m.room.canonical_alias', true);
  }

  private checkAlias(alias: string, mustBeLocal: boolean): void {
    const parsed = parseRoomAlias(alias);
    if (!parsed) throw M.invalidParam(`'${alias}' is not a valid room alias`);
    if (mustBeLocal && parsed.serverName !== this.config.SERVER_NAME) {
      throw M.invalidParam(`Aliases on ${parsed.serverName} cannot be managed here`);
    }
  }
}

function checkRoomId(roomId: string): void {
  if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
}
