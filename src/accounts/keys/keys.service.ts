import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { SqlService } from '../../database/sql.service.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import {
  DeviceListChangedEvent,
  DevicesChangedEvent,
  type DeviceListChanged,
  type DevicesChanged,
} from '../accounts.events.js';
import { DeviceKeysRepository, type DeviceKeysRow } from './device-keys.repository.js';
import { DeviceListChangesRepository } from './device-list-changes.repository.js';
import { OneTimeKeysRepository, type NewKey } from './one-time-keys.repository.js';
import type {
  ClaimedKeys,
  DeviceKeys,
  DeviceKeysWithUnsigned,
  FederationDeviceList,
  KeyObject,
  KeysQueryResult,
  RemoteDeviceList,
  RemoteListState,
} from './keys.types.js';

export interface KeysUpload {
  device_keys?: unknown;
  one_time_keys?: unknown;
  fallback_keys?: unknown;
}

const MAX_KEYS_PER_UPLOAD = 1000;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The key server (kept inside the accounts module, as Dendrite keeps it in its user API): rules and
 * storage for local users' end-to-end keys, the cache of remote users' device lists, and the
 * device-list change stream /sync reads. Knows nothing about HTTP between servers: the federation
 * module fetches remote lists and hands them here.
 */
@Injectable()
export class KeysService {
  private readonly logger = new Logger(KeysService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly sql: SqlService,
    private readonly deviceKeys: DeviceKeysRepository,
    private readonly oneTimeKeys: OneTimeKeysRepository,
    private readonly changes: DeviceListChangesRepository,
    private readonly notifier: StreamNotifier,
    private readonly events: EventEmitter2,
  ) {}

  isLocal(userId: string): boolean {
    return parseUserId(userId)?.serverName === this.config.SERVER_NAME;
  }

  // ---- local users -----------------------------------------------------------------------------

  /** POST /keys/upload for a local device: validates, stores, and answers the one-time key counts. */
  async upload(userId: string, deviceId: string, body: KeysUpload): Promise<Record<string, number>> {
    if (containsNul(body)) throw M.badJson('Keys must not contain NUL characters');
    const deviceKeys =
      body.device_keys == null ? null : this.checkDeviceKeys(body.device_keys, userId, deviceId);
    const otks = body.one_time_keys == null ? [] : parseKeyMap(body.one_time_keys, 'one_time_keys');
    const fallbacks = body.fallback_keys == null ? [] : parseKeyMap(body.fallback_keys, 'fallback_keys');
    if (new Set(fallbacks.map((k) => k.algorithm)).size !== fallbacks.length) {
      throw M.invalidParam('fallback_keys may hold only one key per algorithm');
    }

    const position = await this.sql.transaction(async (tx) => {
      if (otks.length > 0) {
        const existing = await this.oneTimeKeys.selectExisting(userId, deviceId, otks, tx);
        for (const old of existing) {
          const fresh = otks.find((k) => k.algorithm === old.algorithm && k.keyId === old.key_id)!;
          if (JSON.stringify(sortDeep(fresh.key)) !== JSON.stringify(sortDeep(old.key_json))) {
            throw M.invalidParam(
              `One time key ${old.algorithm}:${old.key_id} already exists with different content`,
            );
          }
        }
        await this.oneTimeKeys.insert(userId, deviceId, otks, tx);
      }
      if (fallbacks.length > 0) await this.oneTimeKeys.setFallback(userId, deviceId, fallbacks, tx);
      if (deviceKeys && (await this.deviceKeys.upsert(userId, deviceId, deviceKeys, null, tx))) {
        return this.changes.record(userId, tx);
      }
      return null;
    });
    if (position !== null) await this.wake(userId, position);
    return this.oneTimeKeyCounts(userId, deviceId);
  }

  /** Unclaimed one-time keys per algorithm (`device_one_time_keys_count` in /sync); signed_curve25519 always present. */
  async oneTimeKeyCounts(userId: string, deviceId: string): Promise<Record<string, number>> {
    return { signed_curve25519: 0, ...(await this.oneTimeKeys.counts(userId, deviceId)) };
  }

  /** Algorithms with a fallback key not yet handed out (`device_unused_fallback_key_types` in /sync). */
  unusedFallbackKeyTypes(userId: string, deviceId: string): Promise<string[]> {
    return this.oneTimeKeys.unusedFallbackAlgorithms(userId, deviceId);
  }

  /** Keys of local users: `request` maps a user ID to device IDs ([] = all). Unknown users get {}. */
  async queryLocal(request: Record<string, string[]>): Promise<KeysQueryResult> {
    const result: KeysQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {} };
    const users = Object.keys(request).filter((u) => this.isLocal(u));
    for (const user of users) {
      const { localpart, serverName } = parseUserId(user)!;
      const wanted = request[user].length > 0 ? request[user] : null;
      const rows = await this.deviceKeys.selectLocal(user, localpart, serverName, wanted);
      result.device_keys[user] = Object.fromEntries(rows.map((r) => [r.device_id, withUnsigned(r)]));
    }
    await this.addCrossSigning(result, users);
    return result;
  }

  /** Claims one key per requested local device: a one-time key, else the fallback key. */
  async claimLocal(request: Record<string, Record<string, string>>): Promise<ClaimedKeys> {
    const claimed: ClaimedKeys = {};
    for (const [user, devices] of Object.entries(request)) {
      if (!this.isLocal(user)) continue;
      for (const [device, algorithm] of Object.entries(devices)) {
        const key =
          (await this.oneTimeKeys.claimOne(user, device, algorithm)) ??
          (await this.oneTimeKeys.claimFallback(user, device, algorithm));
        if (!key) continue;
        claimed[user] ??= {};
        claimed[user][device] = { [`${algorithm}:${key.key_id}`]: key.key_json };
      }
    }
    return claimed;
  }

  /** A local user's device list as `GET /_matrix/federation/v1/user/devices/{userId}` returns it. */
  async federationDeviceList(userId: string): Promise<FederationDeviceList> {
    const { localpart, serverName } = parseUserId(userId)!;
    const rows = await this.deviceKeys.selectLocal(userId, localpart, serverName, null);
    const result: FederationDeviceList = {
      user_id: userId,
      stream_id: await this.changes.latestFor(userId),
      devices: rows.map((r) => ({
        device_id: r.device_id,
        keys: r.key_json!,
        ...(r.display_name !== null ? { device_display_name: r.display_name } : {}),
      })),
    };
    const cross = await this.deviceKeys.selectCrossSigning([userId], ['master', 'self_signing']);
    for (const c of cross) {
      if (c.key_type === 'master') result.master_key = c.key_json;
      if (c.key_type === 'self_signing') result.self_signing_key = c.key_json;
    }
    return result;
  }

  /** Deleting a device deletes its keys (and announces the change when it had any). */
  @OnEvent(DevicesChangedEvent, { async: true, promisify: true })
  async onDevicesChanged(event: DevicesChanged): Promise<void> {
    if (!event.deleted || event.deviceIds.length === 0) return;
    try {
      const position = await this.sql.transaction(async (tx) => {
        await this.oneTimeKeys.deleteDevices(event.userId, event.deviceIds, tx);
        const hadKeys = await this.deviceKeys.deleteDevices(event.userId, event.deviceIds, tx);
        return hadKeys.length > 0 ? this.changes.record(event.userId, tx) : null;
      });
      if (position !== null) await this.wake(event.userId, position);
    } catch (err) {
      // The keys stay invisible anyway (local keys are served only for existing devices).
      this.logger.error(`Could not delete keys of ${event.userId}'s deleted devices: ${String(err)}`);
    }
  }

  // ---- the device-list stream (for /sync and /keys/changes) -------------------------------------

  /** Users (local or remote) whose device list changed at stream positions in (since, upTo]. */
  changedUsersSince(since: number, upTo: number | null = null): Promise<string[]> {
    return this.changes.usersChangedBetween(since, upTo);
  }

  // ---- remote users' cached device lists -------------------------------------------------------

  remoteListStates(userIds: string[]): Promise<RemoteListState[]> {
    return userIds.length === 0 ? Promise.resolve([]) : this.deviceKeys.selectRemoteLists(userIds);
  }

  /** Keys of cached remote users, shaped like a query answer (only users whose list is cached appear). */
  async queryCached(request: Record<string, string[]>): Promise<KeysQueryResult> {
    const result: KeysQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {} };
    const cached = (await this.remoteListStates(Object.keys(request))).map((s) => s.userId);
    if (cached.length === 0) return result;
    for (const user of cached) result.device_keys[user] = {};
    for (const row of await this.deviceKeys.selectCached(cached)) {
      const wanted = request[row.user_id];
      if (row.key_json === null || (wanted.length > 0 && !wanted.includes(row.device_id))) continue;
      result.device_keys[row.user_id][row.device_id] = withUnsigned(row);
    }
    await this.addCrossSigning(result, cached);
    return result;
  }

  /**
   * Replaces the cached device list of a remote user with what their server answered, records a
   * device-list change when anything differs, and marks the list fresh. `fetchStartedTs` keeps it
   * stale when an update arrived while the fetch was under way.
   */
  async storeRemoteDeviceList(list: RemoteDeviceList, fetchStartedTs: number): Promise<{ changed: boolean }> {
    const server = parseUserId(list.userId)?.serverName;
    if (!server || server === this.config.SERVER_NAME)
      throw M.invalidParam(`${list.userId} is not a remote user`);
    const position = await this.sql.transaction(async (tx) => {
      await this.deviceKeys.lockRemoteList(list.userId, server, tx);
      const before = await this.deviceKeys.selectCached([list.userId], tx);
      const keep = new Set(list.devices.map((d) => d.device_id));
      let changed = false;
      const gone = before.filter((r) => !keep.has(r.device_id)).map((r) => r.device_id);
      if (gone.length > 0) {
        await this.deviceKeys.deleteDevices(list.userId, gone, tx);
        changed = true;
      }
      for (const d of list.devices) {
        // PostgreSQL cannot store NUL in text or JSONB; such a device is unusable anyway.
        if (containsNul(d)) continue;
        const keys = d.keys ? stripUnsigned(d.keys) : null;
        if (await this.deviceKeys.upsert(list.userId, d.device_id, keys, d.device_display_name ?? null, tx)) {
          changed = true;
        }
      }
      const master = list.masterKey && !containsNul(list.masterKey) ? list.masterKey : null;
      const selfSigning =
        list.selfSigningKey && !containsNul(list.selfSigningKey) ? list.selfSigningKey : null;
      if (await this.deviceKeys.setCrossSigning(list.userId, 'master', master, tx)) changed = true;
      if (await this.deviceKeys.setCrossSigning(list.userId, 'self_signing', selfSigning, tx)) changed = true;
      await this.deviceKeys.markRemoteFresh(list.userId, list.streamId, fetchStartedTs, tx);
      return changed ? this.changes.record(list.userId, tx) : null;
    });
    if (position !== null) await this.wake(list.userId, position);
    return { changed: position !== null };
  }

  /** Marks cached remote lists stale (an m.device_list_update arrived); returns those that were cached. */
  markRemoteStale(userIds: string[]): Promise<string[]> {
    return userIds.length === 0 ? Promise.resolve([]) : this.deviceKeys.markRemoteStale(userIds);
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private async addCrossSigning(result: KeysQueryResult, users: string[]): Promise<void> {
    if (users.length === 0) return;
    for (const c of await this.deviceKeys.selectCrossSigning(users, ['master', 'self_signing'])) {
      if (c.key_type === 'master') result.master_keys[c.user_id] = c.key_json;
      else result.self_signing_keys[c.user_id] = c.key_json;
    }
  }

  /**
   * Wakes /sync long-polls: the user's own (their device list moved to `position`), and through
   * DeviceListChangedEvent those of the users sharing a room with them.
   */
  private async wake(userId: string, position: number): Promise<void> {
    try {
      await this.notifier.notify({ userIds: [userId], position });
    } catch (err) {
      // The change is committed; a missed wake-up only delays a long-poll until its timeout.
      this.logger.warn(`Could not publish a sync wake-up for ${userId}: ${String(err)}`);
    }
    this.events.emit(DeviceListChangedEvent, { userId, position } satisfies DeviceListChanged);
  }

  private checkDeviceKeys(value: unknown, userId: string, deviceId: string): DeviceKeys {
    if (!isObject(value)) throw M.badJson('device_keys must be an object');
    const keys = stripUnsigned(value as DeviceKeys);
    if (keys.user_id !== userId) throw M.invalidParam(`device_keys.user_id must be ${userId}`);
    if (keys.device_id !== deviceId) throw M.invalidParam(`device_keys.device_id must be ${deviceId}`);
    if (!Array.isArray(keys.algorithms) || !keys.algorithms.every((a) => typeof a === 'string')) {
      throw M.badJson('device_keys.algorithms must be a list of strings');
    }
    if (!isObject(keys.keys) || !Object.values(keys.keys).every((k) => typeof k === 'string')) {
      throw M.badJson('device_keys.keys must map key IDs to strings');
    }
    if (!isObject(keys.signatures) || !Object.values(keys.signatures).every(isObject)) {
      throw M.badJson('device_keys.signatures must be an object of objects');
    }
    return keys;
  }
}

/** True when a string anywhere in the value (keys included) holds NUL, which PostgreSQL cannot store. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (isObject(value)) return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  return false;
}

/** Parses `{"<algorithm>:<key_id>": key}`; the key is a string or an object with a string `key`. */
function parseKeyMap(value: unknown, field: string): NewKey[] {
  if (!isObject(value)) throw M.badJson(`${field} must be an object`);
  const entries = Object.entries(value);
  if (entries.length > MAX_KEYS_PER_UPLOAD)
    throw M.badJson(`${field} holds more than ${MAX_KEYS_PER_UPLOAD} keys`);
  return entries.map(([name, key]) => {
    const colon = name.indexOf(':');
    if (colon < 1 || colon === name.length - 1) {
      throw M.badJson(`${field}: "${name}" is not of the form <algorithm>:<key_id>`);
    }
    if (typeof key !== 'string' && !(isObject(key) && typeof key.key === 'string')) {
      throw M.badJson(`${field}.${name} must be a string or an object with a "key" string`);
    }
    return { algorithm: name.slice(0, colon), keyId: name.slice(colon + 1), key: key as KeyObject };
  });
}

function stripUnsigned<T extends Record<string, unknown>>(obj: T): T {
  const { unsigned: _unsigned, ...rest } = obj;
  return rest as T;
}

function withUnsigned(row: DeviceKeysRow): DeviceKeysWithUnsigned {
  return {
    ...row.key_json!,
    unsigned: row.display_name !== null ? { device_display_name: row.display_name } : {},
  };
}

/** Key-order-independent form, for comparing a re-uploaded key with the stored (JSONB-reordered) one. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep(v[k])]),
    );
  return v;
}
