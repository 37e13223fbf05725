import { Injectable } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { roomEventFilterProblem, type RoomEventFilter } from '../../rooms/events/event-filter.js';
import { FilterRepository } from '../repositories/filter.repository.js';

/** The parts of a filter definition /sync applies. */
export interface SyncFilter {
  event_fields?: string[];
  account_data?: { types?: string[]; not_types?: string[] };
  room?: {
    rooms?: string[];
    not_rooms?: string[];
    include_leave?: boolean;
    timeline?: RoomEventFilter;
    state?: RoomEventFilter;
    ephemeral?: RoomEventFilter;
    account_data?: RoomEventFilter;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkStringArray(v: unknown, name: string): void {
  if (v !== undefined && (!Array.isArray(v) || !v.every((x) => typeof x === 'string')))
    throw M.badJson(`${name} must be a list of strings`);
}

function checkEventFilter(v: unknown, name: string): void {
  if (v === undefined) return;
  const problem = roomEventFilterProblem(v, name);
  if (problem) throw M.badJson(problem);
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (isObject(value)) return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  return false;
}

@Injectable()
export class FilterService {
  constructor(private readonly repo: FilterRepository) {}

  validate(filter: unknown): SyncFilter {
    if (!isObject(filter)) throw M.badJson('filter must be a JSON object');
    // Filters are stored as JSONB, which cannot hold NUL.
    if (containsNul(filter)) throw M.badJson('filter must not contain NUL characters');
    checkStringArray(filter.event_fields, 'event_fields');
    checkEventFilter(filter.account_data, 'account_data');
    checkEventFilter(filter.presence, 'presence');
    if (filter.room !== undefined) {
      if (!isObject(filter.room)) throw M.badJson('room must be an object');
      checkStringArray(filter.room.rooms, 'room.rooms');
      checkStringArray(filter.room.not_rooms, 'room.not_rooms');
      if (filter.room.include_leave !== undefined && typeof filter.room.include_leave !== 'boolean')
        throw M.badJson('room.include_leave must be a boolean');
      for (const k of ['timeline', 'state', 'ephemeral', 'account_data'])
        checkEventFilter(filter.room[k], `room.${k}`);
    }
    return filter as SyncFilter;
  }

  async create(userId: string, filter: unknown): Promise<string> {
    return this.repo.create(userId, this.validate(filter) as Record<string, unknown>);
  }

  async get(userId: string, filterId: string): Promise<Record<string, unknown>> {
    const filter = await this.repo.get(userId, filterId);
    if (!filter) throw M.notFound('No such filter');
    return filter;
  }

  /** /sync's `filter` parameter: a stored filter's ID, or inline JSON when it starts with `{`. */
  async resolve(userId: string, param: string | undefined): Promise<SyncFilter> {
    if (param === undefined || param === '') return {};
    if (param.trimStart().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(param);
      } catch {
        throw M.notJson('filter is not valid JSON');
      }
      return this.validate(parsed);
    }
    return (await this.get(userId, param)) as SyncFilter;
  }
}
