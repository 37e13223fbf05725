import { Injectable } from '@nestjs/common';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { isCanonicalizable } from '../../common/crypto/canonical-json.js';
import { parseRoomAlias, parseRoomId, parseUserId } from '../../common/matrix/ids.js';
import { AppConfig } from '../../config/app-config.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { toClientEvent, type FormatOptions } from '../events/client-event.js';
import { eventMatches, type RoomEventFilter } from '../events/event-filter.js';
import { PowerLevels } from '../events/event-auth.js';
import type { ClientEvent, StoredEvent } from '../events/pdu.js';
import { formatToken, parseToken } from '../events/stream-token.js';
import { AliasRepository } from '../repositories/alias.repository.js';
import { MembershipRepository } from '../repositories/membership.repository.js';
import { RoomEventRepository } from '../repositories/room-event.repository.js';
import { RoomRepository } from '../repositories/room.repository.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';
import { RoomWriterService } from './room-writer.service.js';
import { VisibilityService } from './visibility.service.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';

const MAX_MESSAGES_LIMIT = 1000;

/** Sending into and reading from rooms on behalf of a client. */
@Injectable()
export class RoomEventsService {
  constructor(
    private readonly writer: RoomWriterService,
    private readonly rooms: RoomRepository,
    private readonly events: RoomEventRepository,
    private readonly state: RoomStateRepository,
    private readonly memberships: MembershipRepository,
    private readonly visibility: VisibilityService,
    private readonly notifier: StreamNotifier,
    private readonly aliases: AliasRepository,
    private readonly config: AppConfig,
  ) {}

  async sendMessage(
    requester: Requester,
    roomId: string,
    type: string,
    txnId: string,
    content: Record<string, unknown>,
  ): Promise<{ event_id: string }> {
    // The writer answers 404 for a missing or purged room under its lock; no need to look twice.
    checkRoomId(roomId);
    checkType(type);
    checkTxnId(txnId);
    checkContent(content);
    if (type === 'm.room.redaction') throw M.badJson('Use the /redact endpoint to redact events');
    const { events } = await this.writer.send(roomId, [
      {
        type,
        content,
        sender: requester.userId,
        txn: { device: requester.deviceId, scope: 'send', id: txnId },
      },
    ]);
    return { event_id: events[0].event_id };
  }

  async sendState(
    requester: Requester,
    roomId: string,
    type: string,
    stateKey: string,
    content: Record<string, unknown>,
  ): Promise<{ event_id: string }> {
    checkRoomId(roomId);
    checkType(type);
    checkContent(content);
    if (Buffer.byteLength(stateKey) > 255 || stateKey.includes('\u0000'))
      throw M.badJson('state_key must be at most 255 bytes without NUL characters');
    if (type === 'm.room.member') {
      if (typeof content.membership !== 'string') throw M.badJson('membership is required');
      if (!parseUserId(stateKey)) throw M.badJson('the state_key of a member event must be a user ID');
    }
    if (type === 'm.room.canonical_alias' && stateKey === '') await this.checkCanonicalAlias(roomId, content);
    const { events } = await this.writer.send(roomId, [
      { type, stateKey, content, sender: requester.userId },
    ]);
    return { event_id: events[0].event_id };
  }

  /**
   * The spec's checks of a new canonical alias: every alias well-formed (400 M_INVALID_PARAM), and
   * each of this server's pointing to this room (400 M_BAD_ALIAS). Other servers' aliases cannot
   * be looked up without federation and are taken as given.
   */
  private async checkCanonicalAlias(roomId: string, content: Record<string, unknown>): Promise<void> {
    const { alias, alt_aliases: alt } = content;
    if (alias !== undefined && alias !== null && typeof alias !== 'string')
      throw M.invalidParam('alias must be a room alias');
    if (alt !== undefined && (!Array.isArray(alt) || alt.some((a) => typeof a !== 'string')))
      throw M.invalidParam('alt_aliases must be a list of room aliases');
    const all = [...(typeof alias === 'string' ? [alias] : []), ...((alt as string[] | undefined) ?? [])];
    for (const a of all) {
      const parsed = parseRoomAlias(a);
      if (!parsed) throw M.invalidParam(`'${a}' is not a room alias`);
      if (parsed.serverName === this.config.SERVER_NAME && (await this.aliases.resolve(a)) !== roomId)
        throw new MatrixError('M_BAD_ALIAS', `${a} does not point to this room`);
    }
  }

  async redact(
    requester: Requester,
    roomId: string,
    eventId: string,
    txnId: string,
    reason?: string,
  ): Promise<{ event_id: string }> {
    const room = await this.requireRoom(roomId);
    checkTxnId(txnId);
    const target = await this.events.find(eventId);
    if (!target || target.pdu.room_id !== roomId) throw M.notFound('Event not found');
    if (target.pdu.sender !== requester.userId) {
      // Redacting someone else's event needs the room's redact level (the auth rules only check sending).
      const [pl, create] = await Promise.all([
        this.state.current(roomId, [['m.room.power_levels', '']]),
        this.state.current(roomId, [['m.room.create', '']]),
      ]);
      const levels = new PowerLevels(
        pl[0]?.pdu.content,
        room.room_version === '11'
          ? create[0]?.pdu.sender
          : (create[0]?.pdu.content.creator as string | undefined),
      );
      if (levels.userLevel(requester.userId) < levels.level('redact')) {
        throw M.forbidden("You don't have permission to redact other users' events");
      }
    }
    const content: Record<string, unknown> = { ...(reason !== undefined ? { reason } : {}) };
    if (room.room_version === '11') content.redacts = eventId;
    const { events } = await this.writer.send(roomId, [
      {
        type: 'm.room.redaction',
        content,
        redacts: eventId,
        sender: requester.userId,
        txn: { device: requester.deviceId, scope: 'redact', id: txnId },
      },
    ]);
    return { event_id: events[0].event_id };
  }

  /** GET /rooms/{roomId}/state: the current state, or the state when the user left. */
  async getState(requester: Requester, roomId: string): Promise<ClientEvent[]> {
    const events = await this.visibleState(requester.userId, roomId);
    return this.format(events, requester);
  }

  async getStateEvent(
    requester: Requester,
    roomId: string,
    type: string,
    stateKey: string,
  ): Promise<StoredEvent> {
    const events = await this.visibleState(requester.userId, roomId);
    const event = events.find((e) => e.pdu.type === type && e.pdu.state_key === stateKey);
    if (!event) throw M.notFound(`No ${type} state with key '${stateKey}'`);
    return event;
  }

  async getEvent(requester: Requester, roomId: string, eventId: string): Promise<ClientEvent> {
    await this.requireRoom(roomId);
    const event = await this.events.find(eventId);
    if (!event || event.pdu.room_id !== roomId) throw M.notFound('Event not found');
    const [visible] = await this.visibility.filter(requester.userId, roomId, [event]);
    if (!visible) throw M.notFound('Event not found');
    return (await this.format([visible], requester))[0];
  }

  async members(
    requester: Requester,
    roomId: string,
    query: { membership?: string; not_membership?: string; at?: string },
  ): Promise<{ chunk: ClientEvent[] }> {
    let state = await this.visibleState(
      requester.userId,
      roomId,
      query.at ? parseToken(query.at, 'at') : undefined,
    );
    state = state.filter((e) => e.pdu.type === 'm.room.member');
    if (query.membership) state = state.filter((e) => e.pdu.content.membership === query.membership);
    if (query.not_membership) state = state.filter((e) => e.pdu.content.membership !== query.not_membership);
    return { chunk: await this.format(state, requester) };
  }

  async joinedMembers(
    requester: Requester,
    roomId: string,
  ): Promise<{ joined: Record<string, { display_name?: string; avatar_url?: string }> }> {
    await this.requireRoom(roomId);
    const me = await this.memberships.get(roomId, requester.userId);
    if (me?.membership !== 'join') throw M.forbidden('You are not joined to this room');
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const m of await this.memberships.members(roomId, ['join'])) {
      joined[m.user_id] = {
        ...(m.display_name !== null ? { display_name: m.display_name } : {}),
        ...(m.avatar_url !== null ? { avatar_url: m.avatar_url } : {}),
      };
    }
    return { joined };
  }

  /** GET /rooms/{roomId}/messages */
  async messages(
    requester: Requester,
    roomId: string,
    params: { from?: string; to?: string; dir: 'b' | 'f'; limit: number; filter?: RoomEventFilter },
  ): Promise<{ start: string; end?: string; chunk: ClientEvent[]; state?: ClientEvent[] }> {
    const page = await this.pageOf(requester, roomId, params);
    const response: { start: string; end?: string; chunk: ClientEvent[]; state?: ClientEvent[] } = {
      start: page.start,
      chunk: await this.format(page.events, requester),
    };
    if (page.end !== undefined) response.end = page.end;
    if (params.filter?.lazy_load_members && page.events.length > 0) {
      const senders = [...new Set(page.events.map((e) => e.pdu.sender))];
      const members = await this.state.current(
        roomId,
        senders.map((s) => ['m.room.member', s] as [string, string]),
      );
      response.state = await this.format(members, requester);
    }
    return response;
  }

  /**
   * One page of the room's history as the requester may read it, from a token in a direction; `end`
   * is where the next page starts, absent at the end of the history.
   */
  private async pageOf(
    requester: Requester,
    roomId: string,
    params: { from?: string; to?: string; dir: 'b' | 'f'; limit: number; filter?: RoomEventFilter },
  ): Promise<{ start: string; end?: string; events: StoredEvent[] }> {
    await this.requireRoom(roomId);
    const readable = await this.visibility.readableUpTo(requester.userId, roomId);
    if (readable === null) throw M.forbidden('You are not allowed to read this room');
    // Nothing after a user's leave is theirs to read: start (or stop) paginating there.
    const head = Math.min(await this.notifier.head(), readable);
    const limit = Math.min(Math.max(params.filter?.limit ?? params.limit, 1), MAX_MESSAGES_LIMIT);
    const requested =
      params.from !== undefined ? parseToken(params.from, 'from') : params.dir === 'b' ? head : 0;
    const from = params.dir === 'b' ? Math.min(requested, head) : requested;
    const to = params.to !== undefined ? parseToken(params.to, 'to') : undefined;

    const chunk: StoredEvent[] = [];
    let cursor = from;
    let atEnd = false;
    // Invisible events and events the filter drops do not count towards the limit: read on.
    for (let round = 0; round < 10 && chunk.length < limit && !atEnd; round++) {
      const page =
        params.dir === 'b'
          ? await this.events.range(roomId, to ?? 0, cursor, limit, 'b')
          : await this.events.range(roomId, cursor, Math.min(to ?? head, head), limit, 'f');
      const visible = new Set(
        (await this.visibility.filter(requester.userId, roomId, page)).map((e) => e.event_id),
      );
      let consumed = 0;
      for (const e of page) {
        if (chunk.length === limit) break;
        consumed++;
        cursor = params.dir === 'b' ? e.stream_pos - 1 : e.stream_pos;
        if (visible.has(e.event_id) && eventMatches(e, params.filter)) chunk.push(e);
      }
      atEnd = page.length < limit && consumed === page.length;
    }
    return { start: formatToken(from), ...(atEnd ? {} : { end: formatToken(cursor) }), events: chunk };
  }

  /**
   * GET /rooms/{roomId}/context/{eventId}: the event, up to `limit` events around it (half before,
   * half after, as Synapse splits them), tokens to paginate on from either side, and the state at
   * the last event returned. The filter applies to the surrounding events and the state, not to
   * the event itself; with lazy_load_members the state holds only the senders' member events.
   */
  async context(
    requester: Requester,
    roomId: string,
    eventId: string,
    params: { limit: number; filter?: RoomEventFilter },
  ): Promise<{
    event: ClientEvent;
    events_before: ClientEvent[];
    events_after: ClientEvent[];
    start: string;
    end: string;
    state: ClientEvent[];
  }> {
    await this.requireRoom(roomId);
    const stored = await this.events.find(eventId);
    if (!stored || stored.pdu.room_id !== roomId) throw M.notFound('Event not found');
    const [visible] = await this.visibility.filter(requester.userId, roomId, [stored]);
    if (!visible) throw M.notFound('Event not found');
    const limit = Math.min(params.limit, MAX_MESSAGES_LIMIT);
    // The filter's own limit is for /messages: here the query's limit is split.
    const filter = params.filter ? { ...params.filter, limit: undefined } : undefined;
    const beforeLimit = Math.floor(limit / 2);
    const around = await this.around(requester, stored, beforeLimit, limit - beforeLimit, filter);
    const { eventsBefore, eventsAfter } = around;
    const last = eventsAfter.at(-1)?.stream_pos ?? stored.stream_pos;
    let state = (await this.state.at(roomId, last)).filter((e) => eventMatches(e, filter));
    if (filter?.lazy_load_members) {
      const senders = new Set([...eventsBefore, stored, ...eventsAfter].map((e) => e.pdu.sender));
      state = state.filter((e) => e.pdu.type !== 'm.room.member' || senders.has(e.pdu.state_key!));
    }
    const [event, formattedBefore, formattedAfter, formattedState] = await Promise.all([
      this.format([visible], requester),
      this.format(eventsBefore, requester),
      this.format(eventsAfter, requester),
      this.format(state, requester),
    ]);
    return {
      event: event[0],
      events_before: formattedBefore,
      events_after: formattedAfter,
      start: around.start,
      end: around.end,
      state: formattedState,
    };
  }

  /**
   * Up to `before` and `after` events the requester may see on each side of an event (newest first
   * before it, oldest first after it), with the tokens where paginating on would continue: before
   * the earliest event shown, and after the last.
   */
  async around(
    requester: Requester,
    event: StoredEvent,
    before: number,
    after: number,
    filter?: RoomEventFilter,
  ): Promise<{ eventsBefore: StoredEvent[]; eventsAfter: StoredEvent[]; start: string; end: string }> {
    const roomId = event.pdu.room_id;
    const pos = event.stream_pos;
    const [older, newer] = await Promise.all([
      before > 0
        ? this.pageOf(requester, roomId, { from: formatToken(pos - 1), dir: 'b', limit: before, filter })
        : undefined,
      after > 0
        ? this.pageOf(requester, roomId, { from: formatToken(pos), dir: 'f', limit: after, filter })
        : undefined,
    ]);
    const eventsAfter = newer?.events ?? [];
    return {
      eventsBefore: older?.events ?? [],
      eventsAfter,
      start: older?.end ?? formatToken(older ? 0 : pos - 1),
      end: newer?.end ?? formatToken(eventsAfter.at(-1)?.stream_pos ?? pos),
    };
  }

  /** Formats for a client, with redaction reasons. */
  async format(
    events: StoredEvent[],
    requester: Requester | undefined,
    options: FormatOptions = {},
  ): Promise<ClientEvent[]> {
    const redactionIds = [...new Set(events.map((e) => e.redacted_by).filter((id): id is string => !!id))];
    const replacedIds = [...new Set(events.map((e) => e.replaces_state).filter((id): id is string => !!id))];
    const [redactionEvents, redactedPrev] = await Promise.all([
      this.events.findMany(redactionIds),
      this.events.redactedContents(replacedIds),
    ]);
    const redactions = new Map(redactionEvents.map((r) => [r.event_id, r]));
    const now = Date.now();
    return events.map((e) =>
      // prev_content shows the replaced state as it is now: redacted, if it has been since.
      toClientEvent(
        redactedPrev.has(e.replaces_state!) ? { ...e, prev_content: redactedPrev.get(e.replaces_state!) } : e,
        {
          ...options,
          redactions,
          now,
          device: requester ? { userId: requester.userId, deviceId: requester.deviceId } : undefined,
        },
      ),
    );
  }

  /** State the user may see: current while joined, otherwise as it was when they left. */
  private async visibleState(userId: string, roomId: string, at?: number): Promise<StoredEvent[]> {
    await this.requireRoom(roomId);
    const me = await this.memberships.get(roomId, userId);
    if (!me) {
      const historyVisibility = await this.state.current(roomId, [['m.room.history_visibility', '']]);
      if (historyVisibility[0]?.pdu.content.history_visibility === 'world_readable') {
        return at === undefined ? this.state.current(roomId) : this.state.at(roomId, at);
      }
      throw M.forbidden('You are not a member of this room');
    }
    if (me.membership === 'join')
      return at === undefined ? this.state.current(roomId) : this.state.at(roomId, at);
    if (me.membership === 'leave' || me.membership === 'ban') {
      const until = Number(me.stream_pos);
      return this.state.at(roomId, at === undefined ? until : Math.min(at, until));
    }
    throw M.forbidden('You are not joined to this room');
  }

  private async requireRoom(roomId: string) {
    if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
    const room = await this.rooms.find(roomId);
    if (!room || room.purged_ts !== null) throw M.notFound('Room not found');
    return room;
  }
}

function checkRoomId(roomId: string): void {
  if (!parseRoomId(roomId)) throw M.invalidParam(`'${roomId}' is not a valid room ID`);
}

function checkType(type: string): void {
  if (type === '' || Buffer.byteLength(type) > 255 || type.includes('\u0000'))
    throw M.badJson('event type must be 1 to 255 bytes without NUL characters');
}

function checkTxnId(txnId: string): void {
  if (Buffer.byteLength(txnId) > 255 || txnId.includes('\u0000'))
    throw M.invalidParam('transaction IDs are at most 255 bytes, without NUL characters');
}

function checkContent(content: unknown): void {
  if (typeof content !== 'object' || content === null || Array.isArray(content))
    throw M.badJson('content must be a JSON object');
  if (!isCanonicalizable(content)) throw M.badJson('event content must hold integers only, no floats');
}
