import { Injectable } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { AccountDataService } from '../../accounts/services/account-data.service.js';
import { KeysService } from '../../accounts/keys/keys.service.js';
import { ToDeviceService, type ToDeviceEvent } from '../../accounts/services/to-device.service.js';
import { eventMatches, matchesType, roomMatches } from '../../rooms/events/event-filter.js';
import type { ClientEvent, StoredEvent } from '../../rooms/events/pdu.js';
import { formatToken, parseToken } from '../../rooms/events/stream-token.js';
import { RoomEventsService } from '../../rooms/services/room-events.service.js';
import { RoomStreamService } from '../../rooms/services/room-stream.service.js';
import { DeviceListTrackingService } from '../../rooms/services/device-list-tracking.service.js';
import type { MembershipRow } from '../../rooms/repositories/membership.repository.js';
import type { ReceiptRow } from '../../rooms/repositories/ephemeral.repository.js';
import { FilterService, type SyncFilter } from './filter.service.js';
import { WakeupService } from './wakeup.service.js';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;
const MAX_TIMEOUT_MS = 60_000;

export interface SyncParams {
  since?: string;
  timeout: number;
  fullState: boolean;
  filter?: string;
}

interface Events<T = ClientEvent> {
  events: T[];
}

export interface JoinedRoom {
  summary: Record<string, unknown>;
  state: Events;
  timeline: Events & { limited: boolean; prev_batch: string };
  ephemeral: Events<Record<string, unknown>>;
  account_data: Events<Record<string, unknown>>;
  unread_notifications: { highlight_count: number; notification_count: number };
}

export interface SyncResponse {
  next_batch: string;
  account_data: Events<Record<string, unknown>>;
  presence: Events<never>;
  to_device: Events<ToDeviceEvent>;
  device_lists: { changed: string[]; left: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
  rooms: {
    join: Record<string, JoinedRoom>;
    invite: Record<string, { invite_state: Events<Record<string, unknown>> }>;
    leave: Record<
      string,
      {
        state: Events;
        timeline: Events & { limited: boolean; prev_batch: string };
        account_data: Events<Record<string, unknown>>;
      }
    >;
    knock: Record<string, never>;
  };
}

/** GET /sync: initial and incremental, with long-polling woken across processes. */
@Injectable()
export class SyncService {
  constructor(
    private readonly stream: RoomStreamService,
    private readonly roomEvents: RoomEventsService,
    private readonly accountData: AccountDataService,
    private readonly filters: FilterService,
    private readonly wakeups: WakeupService,
    private readonly notifier: StreamNotifier,
    private readonly keys: KeysService,
    private readonly deviceListTracking: DeviceListTrackingService,
    private readonly toDevice: ToDeviceService,
  ) {}

  async sync(requester: Requester, params: SyncParams): Promise<SyncResponse> {
    const filter = await this.filters.resolve(requester.userId, params.filter);
    // No token means an initial sync; `s0` is an ordinary (if early) position and long-polls like any other.
    const since =
      params.since !== undefined && params.since !== '' ? parseToken(params.since, 'since') : undefined;
    const deadline = Date.now() + Math.min(Math.max(params.timeout, 0), MAX_TIMEOUT_MS);

    let rooms = await this.stream.currentMemberships(requester.userId);
    for (;;) {
      // Listen before reading, so a write between the read and the wait still wakes us.
      const listener = this.wakeups.listen(
        requester.userId,
        rooms.map((r) => r.room_id),
      );
      try {
        const response = await this.snapshot(requester, filter, since, params.fullState);
        rooms = response.memberships;
        if (
          since === undefined ||
          params.fullState ||
          !isEmpty(response.body) ||
          Date.now() >= deadline ||
          this.wakeups.stopping
        )
          return response.body;
        await listener.wait(deadline);
      } finally {
        listener.dispose();
      }
      if (Date.now() >= deadline || this.wakeups.stopping)
        return (await this.snapshot(requester, filter, since, params.fullState)).body;
    }
  }

  /**
   * The answer as of the current stream head. The head is read before the memberships, and
   * memberships newer than the head are left for the next sync: a membership read first could
   * miss a change that the head then covers, and the client would never hear of it.
   */
  private async snapshot(
    requester: Requester,
    filter: SyncFilter,
    since: number | undefined,
    fullState: boolean,
  ): Promise<{ body: SyncResponse; memberships: MembershipRow[] }> {
    const head = await this.notifier.head();
    if (since !== undefined && since > head)
      throw M.invalidParam('since is ahead of the server (is this token from another server?)');
    const memberships = await this.stream.currentMemberships(requester.userId);
    const settled = memberships.filter((m) => Number(m.stream_pos) <= head);
    return { body: await this.build(requester, filter, since, head, settled, fullState), memberships };
  }

  private async build(
    requester: Requester,
    filter: SyncFilter,
    sinceToken: number | undefined,
    upTo: number,
    memberships: MembershipRow[],
    fullState: boolean,
  ): Promise<SyncResponse> {
    const userId = requester.userId;
    const initial = sinceToken === undefined;
    const since = sinceToken ?? 0;
    const changes = new Map(
      initial
        ? []
        : (await this.stream.membershipChanges(userId, since, upTo)).map((c) => [c.room_id, c.event]),
    );
    const roomFilter = filter.room;
    const visibleRooms = memberships.filter((m) => !m.forgotten && roomMatches(m.room_id, roomFilter));
    const joined = visibleRooms.filter((m) => m.membership === 'join');
    const response: SyncResponse = {
      next_batch: formatToken(upTo),
      account_data: { events: [] },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
      device_unused_fallback_key_types: [],
      rooms: { join: {}, invite: {}, leave: {}, knock: {} },
    };
    await this.deviceLists(requester, initial, since, upTo, response);
    response.to_device.events = await this.toDevice.forSync(
      userId,
      requester.deviceId,
      initial ? undefined : since,
      upTo,
    );

    const accountData = await this.accountData.listSince(requester.localpart, since, upTo);
    const globalTypes = filter.account_data;
    response.account_data.events = accountData
      .filter(
        (a) =>
          a.room_id === '' &&
          (!globalTypes?.types || globalTypes.types.some((p) => matchesType(a.type, p))) &&
          !globalTypes?.not_types?.some((p) => matchesType(a.type, p)),
      )
      .map((a) => ({ type: a.type, content: a.content }));
    const roomAccountData = new Map<string, Record<string, unknown>[]>();
    for (const a of accountData) {
      if (a.room_id === '') continue;
      const list = roomAccountData.get(a.room_id) ?? [];
      list.push({ type: a.type, content: a.content });
      roomAccountData.set(a.room_id, list);
    }

    await this.joinedRooms(
      requester,
      filter,
      initial,
      since,
      upTo,
      joined,
      changes,
      roomAccountData,
      fullState,
      response,
    );

    for (const m of visibleRooms.filter((r) => r.membership === 'invite')) {
      if (!initial && !changes.has(m.room_id)) continue;
      const invite = changes.get(m.room_id) ?? (await this.inviteEvent(m));
      if (!invite) continue;
      response.rooms.invite[m.room_id] = {
        invite_state: { events: await this.stream.inviteState(m.room_id, invite) },
      };
    }

    const includeLeave = roomFilter?.include_leave === true;
    for (const m of visibleRooms.filter((r) => r.membership === 'leave' || r.membership === 'ban')) {
      const change = changes.get(m.room_id);
      if (!change && !(initial && includeLeave)) continue;
      const leavePos = Number(m.stream_pos);
      const limit = timelineLimit(filter);
      const recent = (await this.stream.recentEvents([m.room_id], initial ? 0 : since, leavePos, limit)).get(
        m.room_id,
      );
      const timeline = await this.stream.filterVisible(userId, m.room_id, recent?.events ?? []);
      const first = timeline[0]?.stream_pos ?? leavePos + 1;
      const state = recent?.limited || initial ? await this.stream.stateAt(m.room_id, first - 1) : [];
      response.rooms.leave[m.room_id] = {
        state: { events: await this.format(filterState(state, timeline, userId, filter), requester) },
        timeline: {
          events: await this.format(
            timeline.filter((e) => eventMatches(e, roomFilter?.timeline)),
            requester,
          ),
          limited: recent?.limited ?? false,
          prev_batch: formatToken(first - 1),
        },
        account_data: { events: roomAccountData.get(m.room_id) ?? [] },
      };
    }
    return response;
  }

  private async joinedRooms(
    requester: Requester,
    filter: SyncFilter,
    initial: boolean,
    since: number,
    upTo: number,
    joined: MembershipRow[],
    changes: Map<string, StoredEvent>,
    roomAccountData: Map<string, Record<string, unknown>[]>,
    fullState: boolean,
    response: SyncResponse,
  ): Promise<void> {
    if (joined.length === 0) return;
    const userId = requester.userId;
    const limit = timelineLimit(filter);
    // A room joined since the last sync is new to the client: send it whole, as in an initial
    // sync. A member event that leaves the user joined (a profile change) does not make it new.
    const freshSet = new Set<string>();
    await Promise.all(
      joined.map(async (m) => {
        if (initial) freshSet.add(m.room_id);
        else if (
          changes.has(m.room_id) &&
          (await this.stream.membershipAt(m.room_id, userId, since)) !== 'join'
        )
          freshSet.add(m.room_id);
      }),
    );
    const fresh = (roomId: string) => freshSet.has(roomId);
    const freshIds = joined.filter((m) => fresh(m.room_id)).map((m) => m.room_id);
    const otherIds = joined.filter((m) => !fresh(m.room_id)).map((m) => m.room_id);
    const [freshRecent, otherRecent, typingChanged, receipts] = await Promise.all([
      this.stream.recentEvents(freshIds, 0, upTo, limit),
      this.stream.recentEvents(otherIds, since, upTo, limit),
      initial
        ? Promise.resolve(joined.map((m) => m.room_id))
        : this.stream.typingChanged(
            joined.map((m) => m.room_id),
            since,
            upTo,
          ),
      this.stream.receiptsSince(
        joined.map((m) => m.room_id),
        initial ? 0 : since,
        upTo,
      ),
    ]);
    const receiptsByRoom = groupReceipts(receipts, userId);

    await Promise.all(
      joined.map(async (m) => {
        const roomId = m.room_id;
        const isFresh = fresh(roomId);
        const recent = (isFresh ? freshRecent : otherRecent).get(roomId) ?? { events: [], limited: false };
        const typing = typingChanged.includes(roomId);
        const roomReceipts = receiptsByRoom.get(roomId);
        // A room new to the client gets all of its account data (tags set before the join too).
        const accountData =
          isFresh && !initial
            ? (await this.accountData.listForRoom(requester.localpart, roomId)).map((a) => ({
                type: a.type,
                content: a.content,
              }))
            : (roomAccountData.get(roomId) ?? []);
        if (
          !isFresh &&
          !fullState &&
          recent.events.length === 0 &&
          !typing &&
          !roomReceipts &&
          accountData.length === 0
        )
          return;

        const timeline = (await this.stream.filterVisible(userId, roomId, recent.events)).filter((e) =>
          eventMatches(e, filter.room?.timeline),
        );
        const first = recent.events[0]?.stream_pos ?? upTo + 1;
        const [summary, unread] = await Promise.all([
          this.stream.summary(roomId, userId),
          this.stream.unreadCounts(roomId, userId, upTo),
        ]);
        const whole = isFresh || fullState;
        let state: StoredEvent[] = [];
        // full_state sends the whole state but keeps the timeline since the token.
        if (whole) state = await this.stream.stateAt(roomId, first - 1);
        else if (recent.limited) state = await this.stream.stateChanges(roomId, since, first - 1);
        state = filterState(state, timeline, userId, filter, {
          // The spec: with the room's summary go its heroes' member events (they name the room).
          heroes: whole ? summary['m.heroes'] : [],
          // ...and the member events of a gap go whether or not the client needs them.
          gap: !whole && recent.limited,
        });
        if (filter.room?.state?.lazy_load_members && !whole) {
          // The timeline's senders as they were at its start: the client may never have been sent
          // them (possibly again: this server does not track what each client holds).
          const have = new Set(
            state.filter((e) => e.pdu.type === 'm.room.member').map((e) => e.pdu.state_key),
          );
          const senders = [...new Set(timeline.map((e) => e.pdu.sender))].filter((u) => !have.has(u));
          const members = await this.stream.membersAt(roomId, first - 1, senders);
          state.push(...members.filter((e) => eventMatches(e, filter.room?.state)));
        }

        const ephemeralFilter = filter.room?.ephemeral;
        const wanted = (type: string) =>
          (!ephemeralFilter?.types || ephemeralFilter.types.some((p) => matchesType(type, p))) &&
          !ephemeralFilter?.not_types?.some((p) => matchesType(type, p));
        const ephemeral: Record<string, unknown>[] = [];
        if (typing && wanted('m.typing'))
          ephemeral.push({ type: 'm.typing', content: { user_ids: await this.stream.typingUsers(roomId) } });
        if (roomReceipts && wanted('m.receipt')) ephemeral.push({ type: 'm.receipt', content: roomReceipts });

        response.rooms.join[roomId] = {
          summary,
          state: { events: await this.format(state, requester) },
          timeline: {
            events: await this.format(timeline, requester),
            limited: recent.limited,
            prev_batch: formatToken(first - 1),
          },
          ephemeral: { events: ephemeral },
          account_data: { events: accountData },
          unread_notifications: unread,
        };
      }),
    );
  }

  /** End-to-end encryption bookkeeping: whose devices to (re)fetch or stop tracking, and key counts. */
  private async deviceLists(
    requester: Requester,
    initial: boolean,
    since: number,
    upTo: number,
    response: SyncResponse,
  ): Promise<void> {
    const [counts, fallback, lists] = await Promise.all([
      this.keys.oneTimeKeyCounts(requester.userId, requester.deviceId),
      this.keys.unusedFallbackKeyTypes(requester.userId, requester.deviceId),
      // An initial sync has nothing to compare with: the client fetches the keys it needs.
      initial ? undefined : this.deviceListTracking.between(requester.userId, since, upTo),
    ]);
    response.device_one_time_keys_count = counts;
    response.device_unused_fallback_key_types = fallback;
    if (lists) response.device_lists = lists;
  }

  private async inviteEvent(m: MembershipRow): Promise<StoredEvent | undefined> {
    const state = await this.stream.stateAt(m.room_id, Number(m.stream_pos));
    return state.find((e) => e.event_id === m.event_id);
  }

  private format(events: StoredEvent[], requester: Requester): Promise<ClientEvent[]> {
    return this.roomEvents.format(events, requester, { includeRoomId: false });
  }
}

function timelineLimit(filter: SyncFilter): number {
  const limit = filter.room?.timeline?.limit;
  return typeof limit === 'number'
    ? Math.min(Math.max(limit, 1), MAX_TIMELINE_LIMIT)
    : DEFAULT_TIMELINE_LIMIT;
}

/**
 * The state a room filter asks for. With lazy_load_members, member events only for the senders of
 * the timeline, the room's heroes and the user themselves (clients fetch the others when they need
 * them), except in a gap, whose member events all go.
 */
function filterState(
  state: StoredEvent[],
  timeline: StoredEvent[],
  userId: string,
  filter: SyncFilter,
  lazy: { heroes: string[]; gap: boolean } = { heroes: [], gap: false },
): StoredEvent[] {
  const stateFilter = filter.room?.state;
  if (!stateFilter) return state;
  const needed = new Set([userId, ...lazy.heroes, ...timeline.map((e) => e.pdu.sender)]);
  return state.filter(
    (e) =>
      eventMatches(e, stateFilter) &&
      (!stateFilter.lazy_load_members ||
        lazy.gap ||
        e.pdu.type !== 'm.room.member' ||
        needed.has(e.pdu.state_key!)),
  );
}

/** Receipts as the m.receipt EDU content: event → type → user → {ts}; private receipts only for their owner. */
function groupReceipts(
  rows: ReceiptRow[],
  userId: string,
): Map<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>> {
  const byRoom = new Map<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>>();
  for (const r of rows) {
    if (r.receipt_type === 'm.read.private' && r.user_id !== userId) continue;
    const room = byRoom.get(r.room_id) ?? {};
    const forEvent = (room[r.event_id] ??= {});
    const forType = (forEvent[r.receipt_type] ??= {});
    forType[r.user_id] = { ts: Number(r.ts), ...(r.thread_id ? { thread_id: r.thread_id } : {}) };
    byRoom.set(r.room_id, room);
  }
  return byRoom;
}

function isEmpty(r: SyncResponse): boolean {
  return (
    r.account_data.events.length === 0 &&
    r.to_device.events.length === 0 &&
    Object.keys(r.rooms.join).length === 0 &&
    Object.keys(r.rooms.invite).length === 0 &&
    Object.keys(r.rooms.leave).length === 0 &&
    r.device_lists.changed.length === 0 &&
    r.device_lists.left.length === 0
  );
}
