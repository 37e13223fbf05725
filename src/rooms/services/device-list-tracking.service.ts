import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import { DeviceListChangedEvent, type DeviceListChanged } from '../../accounts/accounts.events.js';
import { KeysService } from '../../accounts/keys/keys.service.js';
import { MembershipRepository } from '../repositories/membership.repository.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';

export interface DeviceListDelta {
  /** Users whose devices the client must (re)fetch. */
  changed: string[];
  /** Users the client may stop tracking: they no longer share a room with it. */
  left: string[];
}

const NOTHING: DeviceListDelta = { changed: [], left: [] };

/**
 * The client-server spec's "tracking the device list for a user" between two stream positions, for
 * /sync's device_lists and GET /keys/changes. It lives in rooms because the rules are about who
 * shares a room with whom at each position; the device-list stream itself belongs to the key
 * server (accounts).
 */
@Injectable()
export class DeviceListTrackingService {
  private readonly logger = new Logger(DeviceListTrackingService.name);

  constructor(
    private readonly state: RoomStateRepository,
    private readonly memberships: MembershipRepository,
    private readonly keys: KeysService,
    private readonly notifier: StreamNotifier,
  ) {}

  /**
   * What changed for `userId` in (since, upTo]; `upTo` must not be past the stream head.
   *
   * changed: users sharing a joined room with the user at `upTo` whose device list changed in the
   * range, plus everyone who came to share a room with them in it (someone joined one of the
   * user's rooms, or the user joined a room: its members), plus the user themselves when their own
   * devices changed. left: users who shared a room with the user at `since` and share none at
   * `upTo`. The two never overlap.
   */
  async between(userId: string, since: number, upTo: number): Promise<DeviceListDelta> {
    if (since >= upTo) return NOTHING;
    const [devicesChanged, membersMoved] = await Promise.all([
      this.keys.changedUsersSince(since, upTo),
      this.state.memberEventsAround(userId, since, upTo),
    ]);
    // The common case (nothing happened that concerns this user) costs the two queries above.
    if (devicesChanged.length === 0 && !membersMoved) return NOTHING;

    const after = await this.state.coMembersAt(userId, upTo);
    const sharedAfter = new Set(after.map((p) => p.user_id));
    const changed = new Set(devicesChanged.filter((u) => u === userId || sharedAfter.has(u)));
    const left: string[] = [];
    if (membersMoved) {
      const before = await this.state.coMembersAt(userId, since);
      const pairsBefore = new Map<string, Set<string>>();
      for (const p of before) {
        const room = pairsBefore.get(p.room_id) ?? new Set<string>();
        room.add(p.user_id);
        pairsBefore.set(p.room_id, room);
      }
      // A (room, member) pair that is new means a newly shared room, even with someone the user
      // already shared another room with: clients re-check them, as Synapse and the spec's
      // "newly joined" wording do.
      for (const p of after)
        if (p.user_id !== userId && !pairsBefore.get(p.room_id)?.has(p.user_id)) changed.add(p.user_id);
      const sharedBefore = new Set(before.map((p) => p.user_id));
      for (const u of sharedBefore) if (u !== userId && !sharedAfter.has(u)) left.push(u);
    }
    return { changed: [...changed].sort(), left: left.sort() };
  }

  /**
   * Wakes the /sync long-polls of everyone in a room with a user whose device list changed: their
   * waiters listen on their rooms, and the key server that recorded the change knows no rooms.
   */
  @OnEvent(DeviceListChangedEvent, { async: true, promisify: true })
  async onDeviceListChanged(event: DeviceListChanged): Promise<void> {
    try {
      const rooms = await this.memberships.roomsOf(event.userId, ['join']);
      if (rooms.length === 0) return;
      await this.notifier.notify({ roomIds: rooms.map((r) => r.room_id), position: event.position });
    } catch (err) {
      // The change is committed; a missed wake-up only delays a long-poll until its timeout.
      this.logger.warn(`Could not wake the rooms of ${event.userId}: ${String(err)}`);
    }
  }
}
