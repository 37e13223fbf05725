import { parseUserId } from '../../common/matrix/ids.js';
import { isSupportedRoomVersion, type RoomVersion } from './room-versions.js';

/** A current-state entry as the auth rules need it. */
export interface StateEntry {
  event_id: string;
  sender: string;
  content: Record<string, unknown>;
}

export interface AuthState {
  get(type: string, stateKey: string): StateEntry | undefined;
}

/** The event being authorised (before it is hashed and signed). */
export interface AuthEvent {
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  room_id: string;
  prev_events: string[];
}

export class AuthError extends Error {}

const deny = (reason: string): never => {
  throw new AuthError(reason);
};

const domainOf = (id: string): string => id.slice(id.indexOf(':') + 1);

/** The creator: v11 takes the create event's sender, v10 its `content.creator`. */
export function roomCreator(create: StateEntry | undefined, version: RoomVersion): string | undefined {
  if (!create) return undefined;
  return version === '11' ? create.sender : (create.content.creator as string | undefined);
}

function membershipOf(state: AuthState, userId: string): string {
  return (state.get('m.room.member', userId)?.content.membership as string | undefined) ?? 'leave';
}

const intOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isInteger(value) ? value : fallback;

/** Power levels with the spec's defaults filled in (including the no-PL-event case). */
export class PowerLevels {
  constructor(
    private readonly content: Record<string, unknown> | undefined,
    private readonly creator: string | undefined,
  ) {}

  static from(state: AuthState, version: RoomVersion): PowerLevels {
    return new PowerLevels(
      state.get('m.room.power_levels', '')?.content,
      roomCreator(state.get('m.room.create', ''), version),
    );
  }

  userLevel(userId: string): number {
    if (!this.content) return userId === this.creator ? 100 : 0;
    const users = (this.content.users ?? {}) as Record<string, unknown>;
    return intOr(users[userId], intOr(this.content.users_default, 0));
  }

  /** Level needed to send an event of this type (state or not). */
  eventLevel(type: string, isState: boolean): number {
    const events = ((this.content?.events ?? {}) as Record<string, unknown>)[type];
    if (typeof events === 'number') return events;
    if (isState) return intOr(this.content?.state_default, this.content ? 50 : 0);
    return intOr(this.content?.events_default, 0);
  }

  level(action: 'invite' | 'kick' | 'ban' | 'redact'): number {
    return intOr(this.content?.[action], action === 'invite' ? 0 : 50);
  }
}

/** auth_events for a new event, chosen from the current state as the spec says. */
export function selectAuthEvents(event: AuthEvent, state: AuthState): string[] {
  if (event.type === 'm.room.create') return [];
  const keys: [string, string][] = [
    ['m.room.create', ''],
    ['m.room.power_levels', ''],
    ['m.room.member', event.sender],
  ];
  if (event.type === 'm.room.member' && event.state_key !== undefined) {
    keys.push(['m.room.member', event.state_key]);
    const membership = event.content.membership;
    if (membership === 'join' || membership === 'invite' || membership === 'knock')
      keys.push(['m.room.join_rules', '']);
    const via = event.content.join_authorised_via_users_server;
    if (membership === 'join' && typeof via === 'string') keys.push(['m.room.member', via]);
  }
  const ids = new Set<string>();
  for (const [type, key] of keys) {
    const entry = state.get(type, key);
    if (entry) ids.add(entry.event_id);
  }
  return [...ids];
}

/**
 * The authorization rules of room versions 10 and 11 for an event created on this server,
 * checked against the room's current state. Throws AuthError with the reason when refused.
 */
export function authorize(event: AuthEvent, state: AuthState, version: RoomVersion): void {
  // 1. m.room.create
  if (event.type === 'm.room.create') {
    if (event.prev_events.length > 0) deny('create event must be the first event');
    if (domainOf(event.room_id) !== domainOf(event.sender))
      deny('room ID and creator must be on the same server');
    if ('room_version' in event.content && !isSupportedRoomVersion(event.content.room_version))
      deny('unknown room version');
    if (version === '10' && typeof event.content.creator !== 'string') deny('create event has no creator');
    return;
  }
  const create = state.get('m.room.create', '');
  if (!create) deny('room has no create event');
  const creator = roomCreator(create, version)!;

  // 3. m.federate: false keeps other servers out.
  if (create!.content['m.federate'] === false && domainOf(event.sender) !== domainOf(creator)) {
    deny('room is not federated');
  }

  const pl = PowerLevels.from(state, version);
  const senderLevel = pl.userLevel(event.sender);
  const senderMembership = membershipOf(state, event.sender);

  // 4. m.room.member
  if (event.type === 'm.room.member') {
    authorizeMembership(event, state, pl, creator, senderMembership, senderLevel);
    return;
  }

  // 5. The sender must be in the room.
  if (senderMembership !== 'join') deny('sender is not joined to the room');

  // 6. A third-party invite needs the invite level only, whatever the state levels say.
  if (event.type === 'm.room.third_party_invite') {
    if (senderLevel < pl.level('invite')) deny("sender's power level is too low to invite");
    return;
  }

  // 7. Required power level for the event type.
  const isState = event.state_key !== undefined;
  if (pl.eventLevel(event.type, isState) > senderLevel) {
    deny(`sender's power level is too low to send ${event.type}`);
  }

  // 8. State keys that look like user IDs belong to that user.
  if (isState && event.state_key!.startsWith('@') && event.state_key !== event.sender) {
    deny('state_key is a user ID other than the sender');
  }

  // 9. m.room.power_levels
  if (event.type === 'm.room.power_levels') authorizePowerLevels(event, state, senderLevel);
}

function authorizeMembership(
  event: AuthEvent,
  state: AuthState,
  pl: PowerLevels,
  creator: string,
  senderMembership: string,
  senderLevel: number,
): void {
  const target = event.state_key;
  const membership = event.content.membership;
  if (target === undefined || typeof membership !== 'string')
    deny('member event needs a state_key and membership');
  if (!parseUserId(target)) deny('member state_key must be a user ID');
  const targetMembership = membershipOf(state, target!);
  const targetLevel = pl.userLevel(target!);
  const joinRule = (state.get('m.room.join_rules', '')?.content.join_rule as string | undefined) ?? 'invite';

  switch (membership) {
    case 'join': {
      // The creator's own first join, straight after the create event.
      const create = state.get('m.room.create', '');
      if (event.prev_events.length === 1 && event.prev_events[0] === create?.event_id && target === creator)
        return;
      if (event.sender !== target) deny('cannot join on behalf of someone else');
      if (targetMembership === 'ban') deny('user is banned from the room');
      if (joinRule === 'invite' || joinRule === 'knock') {
        if (targetMembership === 'invite' || targetMembership === 'join') return;
        deny('room is invite-only and the user is not invited');
      }
      if (joinRule === 'restricted' || joinRule === 'knock_restricted') {
        if (targetMembership === 'invite' || targetMembership === 'join') return;
        deny('restricted joins are not supported');
      }
      if (joinRule === 'public') return;
      return deny(`join rule ${joinRule} does not allow joining`);
    }
    case 'invite':
      if (event.content.third_party_invite !== undefined) deny('third-party invites are not supported');
      if (senderMembership !== 'join') deny('inviter is not joined to the room');
      if (targetMembership === 'join') deny('user is already in the room');
      if (targetMembership === 'ban') deny('user is banned from the room');
      if (senderLevel < pl.level('invite')) deny("inviter's power level is too low to invite");
      return;
    case 'leave':
      if (event.sender === target) {
        if (['invite', 'join', 'knock'].includes(targetMembership)) return;
        return deny('user is not in the room');
      }
      if (senderMembership !== 'join') deny('sender is not joined to the room');
      if (targetMembership === 'ban' && senderLevel < pl.level('ban'))
        deny("sender's power level is too low to unban");
      if (senderLevel >= pl.level('kick') && targetLevel < senderLevel) return;
      return deny("sender's power level is too low to kick this user");
    case 'ban':
      if (senderMembership !== 'join') deny('sender is not joined to the room');
      if (senderLevel >= pl.level('ban') && targetLevel < senderLevel) return;
      return deny("sender's power level is too low to ban this user");
    case 'knock':
      if (joinRule !== 'knock' && joinRule !== 'knock_restricted') deny('room does not allow knocking');
      if (event.sender !== target) deny('cannot knock on behalf of someone else');
      if (['ban', 'invite', 'join'].includes(targetMembership))
        deny(`cannot knock while ${targetMembership}`);
      return;
    default:
      deny(`unknown membership ${String(membership)}`);
  }
}

const LEVEL_KEYS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'];

function authorizePowerLevels(event: AuthEvent, state: AuthState, senderLevel: number): void {
  const next = event.content;
  for (const key of LEVEL_KEYS) {
    if (key in next && !Number.isInteger(next[key])) deny(`${key} must be an integer`);
  }
  for (const map of ['events', 'notifications']) {
    const value = next[map];
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) deny(`${map} must be an object`);
    if (!Object.values(value as object).every((v) => Number.isInteger(v)))
      deny(`${map} values must be integers`);
  }
  const users = next.users;
  if (users !== undefined) {
    if (typeof users !== 'object' || users === null || Array.isArray(users)) deny('users must be an object');
    for (const [u, v] of Object.entries(users as object)) {
      if (!parseUserId(u)) deny(`${u} is not a user ID`);
      if (!Number.isInteger(v)) deny('user levels must be integers');
    }
  }
  const previous = state.get('m.room.power_levels', '')?.content;
  if (!previous) return;

  const changed = (a: unknown, b: unknown) => a !== b;
  const checkChange = (what: string, oldValue: unknown, newValue: unknown) => {
    if (!changed(oldValue, newValue)) return;
    if (typeof oldValue === 'number' && oldValue > senderLevel)
      deny(`cannot change ${what}: it is above your level`);
    if (typeof newValue === 'number' && newValue > senderLevel)
      deny(`cannot set ${what} above your own level`);
  };
  // Absent values are compared as absent (not as their defaults), as Synapse and Dendrite do.
  for (const key of LEVEL_KEYS) checkChange(key, previous[key], next[key]);
  for (const map of ['events', 'notifications']) {
    const oldMap = (previous[map] ?? {}) as Record<string, unknown>;
    const newMap = (next[map] ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(oldMap), ...Object.keys(newMap)])) {
      checkChange(`${map}.${k}`, oldMap[k], newMap[k]);
    }
  }
  const oldUsers = (previous.users ?? {}) as Record<string, unknown>;
  const newUsers = (users ?? {}) as Record<string, unknown>;
  for (const u of new Set([...Object.keys(oldUsers), ...Object.keys(newUsers)])) {
    const oldValue = oldUsers[u];
    const newValue = newUsers[u];
    if (!changed(oldValue, newValue)) continue;
    if (u !== event.sender && typeof oldValue === 'number' && oldValue >= senderLevel) {
      deny(`cannot change the level of ${u}: it is not below yours`);
    }
    if (typeof newValue === 'number' && newValue > senderLevel)
      deny(`cannot give ${u} a level above your own`);
  }
}
