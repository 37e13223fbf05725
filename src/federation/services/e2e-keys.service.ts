import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { AccountsService } from '../../accounts/services/accounts.service.js';
import { KeysService, containsNul, type KeysUpload } from '../../accounts/keys/keys.service.js';
import type {
  ClaimedKeys,
  FederationDeviceList,
  KeyObject,
  KeysQueryResult,
  RemoteDevice,
} from '../../accounts/keys/keys.types.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import {
  DeviceListTrackingService,
  type DeviceListDelta,
} from '../../rooms/services/device-list-tracking.service.js';
import { FederationClient, RemoteServerError } from './federation-client.service.js';
import { crossSigningKey, isDeviceKeys } from './remote-devices.service.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 20_000;
const MAX_USERS = 1000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export type ClientKeysQueryResult = KeysQueryResult & { failures: Record<string, unknown> };

/**
 * End-to-end key endpoints for clients and for other servers: local users are answered by the key
 * server (KeysService); remote users by their server, whose answers are cached.
 */
@Injectable()
export class E2eKeysService {
  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeysService,
    private readonly accounts: AccountsService,
    private readonly client: FederationClient,
    private readonly deviceListTracking: DeviceListTrackingService,
    private readonly notifier: StreamNotifier,
  ) {}

  /** POST /_matrix/client/v3/keys/upload */
  async upload(caller: Requester, body: KeysUpload) {
    return { one_time_key_counts: await this.keys.upload(caller.userId, caller.deviceId, body) };
  }

  /** POST /_matrix/client/v3/keys/query */
  async query(deviceKeys: unknown, timeout: number | undefined): Promise<ClientKeysQueryResult> {
    const request = parseQueryRequest(deviceKeys);
    const { local, remote } = this.split(request);
    const result: ClientKeysQueryResult = { ...(await this.keys.queryLocal(local)), failures: {} };
    const timeoutMs = clampTimeout(timeout);
    await Promise.all(
      [...remote].map(async ([server, users]) => {
        try {
          await this.queryRemote(server, users, timeoutMs);
        } catch (err) {
          if (!(err instanceof RemoteServerError)) throw err;
          result.failures[server] = err.toFailure();
        }
        // Either way, answer from the cache: fresh now, or the last known lists when the remote failed.
        merge(result, await this.keys.queryCached(users));
      }),
    );
    return result;
  }

  /** POST /_matrix/client/v3/keys/claim */
  async claim(oneTimeKeys: unknown, timeout: number | undefined) {
    const request = parseClaimRequest(oneTimeKeys);
    const local: Record<string, Record<string, string>> = {};
    const remote = new Map<string, Record<string, Record<string, string>>>();
    for (const [user, devices] of Object.entries(request)) {
      const server = parseUserId(user)!.serverName;
      if (server === this.config.SERVER_NAME) local[user] = devices;
      else remote.set(server, { ...(remote.get(server) ?? {}), [user]: devices });
    }
    const result = {
      one_time_keys: await this.keys.claimLocal(local),
      failures: {} as Record<string, unknown>,
    };
    const timeoutMs = clampTimeout(timeout);
    await Promise.all(
      [...remote].map(async ([server, users]) => {
        try {
          const answer = await this.client.request<{ one_time_keys?: unknown }>(
            server,
            'POST',
            '/_matrix/federation/v1/user/keys/claim',
            { body: { one_time_keys: users }, timeoutMs },
          );
          Object.assign(result.one_time_keys, pickClaimed(answer.one_time_keys, users));
        } catch (err) {
          if (!(err instanceof RemoteServerError)) throw err;
          result.failures[server] = err.toFailure();
        }
      }),
    );
    return result;
  }

  /**
   * GET /_matrix/client/v3/keys/changes: /sync's device_lists between two tokens. A `to` past the
   * stream head (or none) means the head: positions beyond it may still be uncommitted.
   */
  async changes(caller: Requester, from: string, to: string | undefined): Promise<DeviceListDelta> {
    const since = parseStreamToken(from, 'from');
    const requested = to === undefined || to === '' ? null : parseStreamToken(to, 'to');
    const head = await this.notifier.head();
    const upTo = requested === null ? head : Math.min(requested, head);
    return this.deviceListTracking.between(caller.userId, since, upTo);
  }

  /** POST /_matrix/federation/v1/user/keys/query: our users only. */
  async federationQuery(deviceKeys: unknown): Promise<KeysQueryResult> {
    const { local } = this.split(parseQueryRequest(deviceKeys));
    return this.keys.queryLocal(local);
  }

  /** POST /_matrix/federation/v1/user/keys/claim: our users only. */
  async federationClaim(oneTimeKeys: unknown): Promise<{ one_time_keys: ClaimedKeys }> {
    const request = parseClaimRequest(oneTimeKeys);
    return { one_time_keys: await this.keys.claimLocal(request) };
  }

  /** GET /_matrix/federation/v1/user/devices/{userId} */
  async federationDevices(userId: string): Promise<FederationDeviceList> {
    const parsed = parseUserId(userId);
    if (!parsed) throw M.invalidParam(`'${userId}' is not a valid user ID`);
    if (parsed.serverName !== this.config.SERVER_NAME)
      throw M.invalidParam(`${userId} is not a user of this server`);
    if (!(await this.accounts.accountExists(parsed.localpart))) throw M.notFound('User does not exist');
    return this.keys.federationDeviceList(userId);
  }

  private split(request: Record<string, string[]>) {
    const local: Record<string, string[]> = {};
    const remote = new Map<string, Record<string, string[]>>();
    for (const [user, devices] of Object.entries(request)) {
      const server = parseUserId(user)!.serverName;
      if (server === this.config.SERVER_NAME) local[user] = devices;
      else remote.set(server, { ...(remote.get(server) ?? {}), [user]: devices });
    }
    return { local, remote };
  }

  /**
   * Asks the remote server for the users whose list is not cached or is stale (all their devices, so
   * the cache is complete) and stores the answers. Fresh lists are not asked for again.
   */
  private async queryRemote(
    server: string,
    users: Record<string, string[]>,
    timeoutMs: number,
  ): Promise<void> {
    const states = new Map((await this.keys.remoteListStates(Object.keys(users))).map((s) => [s.userId, s]));
    const toFetch = Object.keys(users).filter((u) => !states.has(u) || states.get(u)!.isStale);
    if (toFetch.length === 0) return;
    const started = Date.now();
    const answer = await this.client.request<Record<string, unknown>>(
      server,
      'POST',
      '/_matrix/federation/v1/user/keys/query',
      {
        body: { device_keys: Object.fromEntries(toFetch.map((u) => [u, []])) },
        timeoutMs,
      },
    );
    const deviceKeys = isObject(answer.device_keys) ? answer.device_keys : {};
    const masters = isObject(answer.master_keys) ? answer.master_keys : {};
    const selfSigning = isObject(answer.self_signing_keys) ? answer.self_signing_keys : {};
    for (const user of toFetch) {
      const devicesOfUser = isObject(deviceKeys[user]) ? deviceKeys[user] : {};
      const devices: RemoteDevice[] = [];
      for (const [deviceId, keys] of Object.entries(devicesOfUser)) {
        if (!isDeviceKeys(keys, user, deviceId)) continue;
        const { unsigned, ...signed } = keys as Record<string, unknown> & {
          unsigned?: { device_display_name?: unknown };
        };
        const name = unsigned?.device_display_name;
        devices.push({
          device_id: deviceId,
          keys: signed as RemoteDevice['keys'],
          ...(typeof name === 'string' ? { device_display_name: name } : {}),
        });
      }
      await this.keys.storeRemoteDeviceList(
        {
          userId: user,
          streamId: states.get(user)?.streamId ?? null,
          devices,
          masterKey: crossSigningKey(masters[user], user, 'master'),
          selfSigningKey: crossSigningKey(selfSigning[user], user, 'self_signing'),
        },
        started,
      );
    }
  }
}

function merge(into: KeysQueryResult, from: KeysQueryResult): void {
  Object.assign(into.device_keys, from.device_keys);
  Object.assign(into.master_keys, from.master_keys);
  Object.assign(into.self_signing_keys, from.self_signing_keys);
}

function clampTimeout(timeout: number | undefined): number {
  return Math.min(Math.max(timeout ?? DEFAULT_TIMEOUT_MS, 1000), MAX_TIMEOUT_MS);
}

function checkUserId(user: string): void {
  if (!parseUserId(user)) throw M.invalidParam(`'${user}' is not a valid user ID`);
}

/** `{user: [deviceId...]}` with valid user IDs. */
function parseQueryRequest(value: unknown): Record<string, string[]> {
  if (!isObject(value)) throw M.badJson('device_keys must be an object');
  if (containsNul(value)) throw M.badJson('device_keys must not contain NUL characters');
  const entries = Object.entries(value);
  if (entries.length > MAX_USERS) throw M.badJson(`device_keys may name at most ${MAX_USERS} users`);
  for (const [user, devices] of entries) {
    checkUserId(user);
    if (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string')) {
      throw M.badJson(`device_keys.${user} must be a list of device IDs`);
    }
  }
  return value as Record<string, string[]>;
}

/** `{user: {deviceId: algorithm}}` with valid user IDs. */
function parseClaimRequest(value: unknown): Record<string, Record<string, string>> {
  if (!isObject(value)) throw M.badJson('one_time_keys must be an object');
  if (containsNul(value)) throw M.badJson('one_time_keys must not contain NUL characters');
  const entries = Object.entries(value);
  if (entries.length > MAX_USERS) throw M.badJson(`one_time_keys may name at most ${MAX_USERS} users`);
  for (const [user, devices] of entries) {
    checkUserId(user);
    if (!isObject(devices) || !Object.values(devices).every((a) => typeof a === 'string' && a !== '')) {
      throw M.badJson(`one_time_keys.${user} must map device IDs to algorithms`);
    }
  }
  return value as Record<string, Record<string, string>>;
}

/** Keeps only the keys the remote was asked for, in the expected shape. */
function pickClaimed(value: unknown, asked: Record<string, Record<string, string>>): ClaimedKeys {
  const out: ClaimedKeys = {};
  if (!isObject(value)) return out;
  for (const [user, devices] of Object.entries(asked)) {
    const got = value[user];
    if (!isObject(got)) continue;
    for (const deviceId of Object.keys(devices)) {
      const keys = got[deviceId];
      if (!isObject(keys)) continue;
      out[user] ??= {};
      out[user][deviceId] = keys as Record<string, KeyObject>;
    }
  }
  return out;
}

/** A sync token (`s<position>`, possibly followed by more `_`-separated parts) or a bare position. */
export function parseStreamToken(token: string, name: string): number {
  const m = /^s?(\d{1,16})(?:[_.~-].*)?$/.exec(token);
  if (!m) throw M.invalidParam(`${name} is not a sync token`);
  return Number(m[1]);
}
