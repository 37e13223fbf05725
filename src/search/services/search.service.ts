import { Injectable } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { AppConfig } from '../../config/app-config.js';
import type { Requester } from '../../accounts/auth/requester.js';
import type { StartedJob } from '../../jobs/job.service.js';
import { eventMatches, roomMatches } from '../../rooms/events/event-filter.js';
import type { ClientEvent, StoredEvent } from '../../rooms/events/pdu.js';
import { RoomEventsService } from '../../rooms/services/room-events.service.js';
import { RoomStreamService } from '../../rooms/services/room-stream.service.js';
import type {
  EventContextDto,
  RoomEventsCriteriaDto,
  SearchBodyDto,
  SearchFilterDto,
} from '../dto/search.dto.js';
import {
  INDEXED_KEYS,
  INDEXED_TYPES,
  SEARCH_KEYS,
  SearchIndexRepository,
  type SearchHit,
  type SearchKey,
} from '../repositories/search-index.repository.js';
import {
  formatSearchToken,
  parseSearchToken,
  withPrefixMatching,
  type SearchToken,
} from '../search-token.js';
import { SearchIndexService } from './search-index.service.js';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
const DEFAULT_CONTEXT = 5;
const MAX_CONTEXT = 50;
/** Index pages read for one answer when hits turn out invisible, before answering with fewer results. */
const MAX_ROUNDS = 5;

interface SearchResult {
  rank: number;
  result: ClientEvent;
  context?: EventContext;
}

interface EventContext {
  start: string;
  end: string;
  events_before: ClientEvent[];
  events_after: ClientEvent[];
  profile_info?: Record<string, { displayname?: string; avatar_url?: string }>;
}

interface Group {
  results: string[];
  order: number;
  next_batch?: string;
}

export interface RoomEventsResults {
  count: number;
  highlights: string[];
  results: SearchResult[];
  next_batch?: string;
  state?: Record<string, ClientEvent[]>;
  groups?: Partial<Record<'room_id' | 'sender', Record<string, Group>>>;
}

interface Found {
  event: StoredEvent;
  hit: SearchHit;
}

const typeOfKey = (key: SearchKey) => INDEXED_TYPES.find((t) => INDEXED_KEYS[t] === key)!;

/**
 * Server-side search (POST /search, category room_events) over the full-text index. A user
 * searches the rooms they are joined to or have left after being joined, sees only what history
 * visibility lets them see, and pages with next_batch in rank or recency order. Also the module's
 * face to the admin API (reindex, a purged room's rows).
 */
@Injectable()
export class SearchService {
  constructor(
    private readonly index: SearchIndexRepository,
    private readonly indexer: SearchIndexService,
    private readonly stream: RoomStreamService,
    private readonly roomEvents: RoomEventsService,
    private readonly config: AppConfig,
  ) {}

  /** Starts the background rebuild of the index (or joins the running one). */
  startReindex(): Promise<StartedJob> {
    return this.indexer.startReindex();
  }

  /** Removes a purged room's rows from the index; returns how many. */
  deleteRoom(roomId: string): Promise<number> {
    return this.indexer.deleteRoom(roomId);
  }

  /**
   * Removes the index rows of a purged room's next `limit` events after stream position `after`;
   * null when it has none left there. For a purge that deletes the events in the same steps,
   * each step's index rows first, so that no row outlives the events it is found through.
   */
  deleteRoomBatch(
    roomId: string,
    after: number,
    limit: number,
  ): Promise<{ last: number; deleted: number } | null> {
    return this.indexer.deleteRoomBatch(roomId, after, limit);
  }

  async search(
    requester: Requester,
    body: SearchBodyDto,
    nextBatch?: string,
  ): Promise<{ search_categories: { room_events?: RoomEventsResults } }> {
    const criteria = body.search_categories.room_events;
    if (!criteria) return { search_categories: {} };
    return {
      search_categories: { room_events: await this.searchRoomEvents(requester, criteria, nextBatch) },
    };
  }

  private async searchRoomEvents(
    requester: Requester,
    criteria: RoomEventsCriteriaDto,
    nextBatch: string | undefined,
  ): Promise<RoomEventsResults> {
    const order = criteria.order_by ?? 'rank';
    const token = nextBatch !== undefined ? parseSearchToken(nextBatch) : null;
    if (token && token.order !== order) {
      throw M.invalidParam(`next_batch continues a search ordered by ${token.order}, not ${order}`);
    }
    const filter: SearchFilterDto = criteria.filter ?? {};
    const limit = Math.min(filter.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    const empty: RoomEventsResults = { count: 0, highlights: [], results: [] };

    const [searchable, normalised] = await Promise.all([
      this.searchableRooms(requester.userId),
      this.index.parseQuery(this.config.SEARCH_LANGUAGE, criteria.search_term),
    ]);
    const rooms = searchable.filter(
      (roomId) => roomMatches(roomId, filter) && (token?.room === undefined || roomId === token.room),
    );
    const keys = keysFor(criteria.keys, filter);
    let senders = filter.senders ?? null;
    if (token?.sender !== undefined) senders = (senders ?? [token.sender]).filter((s) => s === token.sender);
    // Nothing but stop words or punctuation in the term: nothing can match.
    if (rooms.length === 0 || keys.length === 0 || senders?.length === 0 || normalised === '') return empty;
    const tsquery = withPrefixMatching(normalised);

    const found: Found[] = [];
    let after: SearchHit | null = null;
    let cursor = token ? { pos: token.pos, rank: token.rank } : null;
    let count = 0;
    let more = false;
    // Hits the user may not see (history visibility) are skipped, so read on until the page is full.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const wanted = limit - found.length + 1;
      const page = await this.index.search({
        tsquery,
        rooms,
        keys: keys.length === SEARCH_KEYS.length ? null : keys,
        senders,
        notSenders: filter.not_senders ?? [],
        order,
        after: cursor,
        limit: wanted,
      });
      if (round === 0) count = page.total;
      const visible = await this.visibleEvents(requester.userId, page.hits, filter);
      let consumed = 0;
      for (const hit of page.hits) {
        if (found.length === limit) break;
        consumed++;
        after = hit;
        const event = visible.get(hit.event_id);
        if (event) found.push({ event, hit });
      }
      cursor = after ? { pos: after.stream_pos, rank: after.rank } : cursor;
      if (found.length === limit) {
        more = consumed < page.hits.length || page.hits.length === wanted;
        break;
      }
      more = page.hits.length === wanted;
      if (!more) break;
    }

    const context = criteria.event_context;
    const [formatted, contexts, highlights] = await Promise.all([
      this.roomEvents.format(
        found.map((f) => f.event),
        requester,
      ),
      context ? Promise.all(found.map((f) => this.context(requester, f.event, context))) : undefined,
      this.index.matchedWords(
        this.config.SEARCH_LANGUAGE,
        tsquery,
        found.map((f) => indexedText(f.event)).filter((t): t is string => t !== undefined),
      ),
    ]);
    const results: SearchResult[] = found.map((f, i) => ({
      rank: f.hit.rank,
      result: formatted[i],
      ...(contexts ? { context: contexts[i] } : {}),
    }));
    const response: RoomEventsResults = { count, highlights, results };
    const tokenFor = (hit: SearchHit, restrict: Pick<SearchToken, 'room' | 'sender'>) =>
      formatSearchToken({
        order,
        pos: hit.stream_pos,
        ...(order === 'rank' ? { rank: hit.rank } : {}),
        ...(token?.room !== undefined ? { room: token.room } : {}),
        ...(token?.sender !== undefined ? { sender: token.sender } : {}),
        ...restrict,
      });
    if (more && after) response.next_batch = tokenFor(after, {});

    if (criteria.include_state) {
      const roomIds = [...new Set(found.map((f) => f.event.pdu.room_id))];
      const states = await Promise.all(roomIds.map((r) => this.roomEvents.getState(requester, r)));
      response.state = Object.fromEntries(roomIds.map((r, i) => [r, states[i]]));
    }

    const groupBy = new Set((criteria.groupings?.group_by ?? []).map((g) => g.key));
    if (groupBy.size > 0) {
      response.groups = {};
      for (const key of groupBy) {
        const groups: Record<string, Group> = {};
        const last = new Map<string, SearchHit>();
        for (const f of found) {
          const value = key === 'room_id' ? f.event.pdu.room_id : f.event.pdu.sender;
          groups[value] ??= { results: [], order: Object.keys(groups).length + 1 };
          groups[value].results.push(f.event.event_id);
          last.set(value, f.hit);
        }
        if (more) {
          for (const [value, hit] of last) {
            groups[value].next_batch = tokenFor(hit, key === 'room_id' ? { room: value } : { sender: value });
          }
        }
        response.groups[key] = groups;
      }
    }
    return response;
  }

  /** Rooms the user is joined to, or left (or was banned from) after having been joined, and has not forgotten. */
  private async searchableRooms(userId: string): Promise<string[]> {
    const memberships = await this.stream.currentMemberships(userId);
    const joined = memberships.filter((m) => m.membership === 'join').map((m) => m.room_id);
    const left = memberships.filter((m) => ['leave', 'ban'].includes(m.membership) && !m.forgotten);
    const wasJoined = await Promise.all(
      left.map(async (m) =>
        (await this.stream.stateHistory(m.room_id, 'm.room.member', userId)).some(
          (h) => h.event.pdu.content.membership === 'join',
        ),
      ),
    );
    return [...joined, ...left.filter((_, i) => wasJoined[i]).map((m) => m.room_id)];
  }

  /** The hits' events the user may see, by event ID. */
  private async visibleEvents(
    userId: string,
    hits: SearchHit[],
    filter: SearchFilterDto,
  ): Promise<Map<string, StoredEvent>> {
    const byRoom = new Map<string, StoredEvent[]>();
    for (const event of await this.stream.eventsByIds(hits.map((h) => h.event_id))) {
      // A redaction racing with indexing can leave a row behind for a moment: never show it.
      if (event.redacted_by || !eventMatches(event, filter)) continue;
      const list = byRoom.get(event.pdu.room_id) ?? [];
      list.push(event);
      byRoom.set(event.pdu.room_id, list);
    }
    const visible = new Map<string, StoredEvent>();
    await Promise.all(
      [...byRoom].map(async ([roomId, events]) => {
        for (const e of await this.stream.filterVisible(userId, roomId, events)) visible.set(e.event_id, e);
      }),
    );
    return visible;
  }

  /** Events around a result, as /messages would show them to the user, and the senders' profiles then. */
  private async context(
    requester: Requester,
    event: StoredEvent,
    options: EventContextDto,
  ): Promise<EventContext> {
    const roomId = event.pdu.room_id;
    const pos = event.stream_pos;
    const around = await this.roomEvents.around(
      requester,
      event,
      Math.min(options.before_limit ?? DEFAULT_CONTEXT, MAX_CONTEXT),
      Math.min(options.after_limit ?? DEFAULT_CONTEXT, MAX_CONTEXT),
    );
    const [eventsBefore, eventsAfter] = await Promise.all([
      this.roomEvents.format(around.eventsBefore, requester),
      this.roomEvents.format(around.eventsAfter, requester),
    ]);
    const context: EventContext = {
      start: around.start,
      end: around.end,
      events_before: eventsBefore,
      events_after: eventsAfter,
    };
    if (options.include_profile) {
      const senders = [...new Set([...eventsBefore, event.pdu, ...eventsAfter].map((e) => e.sender))];
      const profiles = await Promise.all(senders.map((s) => this.profileAt(roomId, s, pos)));
      context.profile_info = Object.fromEntries(senders.map((s, i) => [s, profiles[i]]));
    }
    return context;
  }

  /** A user's display name and avatar in a room as they were at a stream position. */
  private async profileAt(roomId: string, userId: string, pos: number) {
    const history = await this.stream.stateHistory(roomId, 'm.room.member', userId);
    const entry = history.find((h) => h.from_pos <= pos && (h.to_pos === null || h.to_pos > pos));
    const content = entry?.event.pdu.content ?? {};
    return {
      ...(typeof content.displayname === 'string' ? { displayname: content.displayname } : {}),
      ...(typeof content.avatar_url === 'string' ? { avatar_url: content.avatar_url } : {}),
    };
  }
}

/** The keys to search: those asked for (all by default) whose event type the filter's types allow. */
function keysFor(keys: SearchKey[] | undefined, filter: SearchFilterDto): SearchKey[] {
  const asked = keys && keys.length > 0 ? [...new Set(keys)] : SEARCH_KEYS;
  return asked.filter((key) =>
    // A stand-in event of the key's type, checked against the filter's type rules only.
    eventMatches({ event_id: '', stream_pos: 0, pdu: { type: typeOfKey(key) } } as StoredEvent, {
      types: filter.types,
      not_types: filter.not_types,
    }),
  );
}

/** The text of an event that the index holds (its body, name or topic). */
function indexedText(event: StoredEvent): string | undefined {
  const key = INDEXED_KEYS[event.pdu.type as keyof typeof INDEXED_KEYS];
  const value = key ? event.pdu.content[key.slice('content.'.length)] : undefined;
  // As the index read it: without NUL, which PostgreSQL text cannot hold.
  return typeof value === 'string' ? value.replaceAll('\0', '') : undefined;
}
