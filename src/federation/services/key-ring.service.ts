import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { ServerKeyService } from '../../common/crypto/server-key.service.js';
import { verifyJsonSignature } from '../../common/crypto/signing-key.js';
import { RedisService } from '../../database/redis.service.js';
import {
  ServerKeysRepository,
  type ServerKeyRow,
  type StoredKey,
} from '../repositories/server-keys.repository.js';
import { FederationClient, RemoteServerError } from './federation-client.service.js';

/** Verifiers trust a key response for at most this long after fetching it, whatever valid_until_ts says. */
const MAX_VALIDITY_MS = 7 * 24 * 3600_000;
/** After a fetch that failed or lacked the wanted key, wait this long before asking that server again. */
const REFETCH_BACKOFF_MS = 10_000;
const KEY_ID_RE = /^ed25519:[A-Za-z0-9_]+$/;

export interface ServerKeysResponse {
  server_name: string;
  valid_until_ts: number;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys?: Record<string, { key: string; expired_ts: number }>;
  signatures: Record<string, Record<string, string>>;
  [extra: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Other servers' signing keys: looked up in PostgreSQL, fetched from the server itself
 * (`GET /_matrix/key/v2/server`) or, failing that, from the trusted notaries
 * (`POST /_matrix/key/v2/query`), verified, and cached for every process.
 */
@Injectable()
export class KeyRingService {
  private readonly logger = new Logger(KeyRingService.name);
  /** Lookups racing in this process share one fetch (an optimisation; the Redis gate covers other processes). */
  private readonly inflight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly config: AppConfig,
    private readonly serverKey: ServerKeyService,
    private readonly repo: ServerKeysRepository,
    private readonly client: FederationClient,
    private readonly redis: RedisService,
  ) {}

  /** The key a server signs requests with now (current keys only, within their validity), or null. */
  async currentKey(serverName: string, keyId: string): Promise<string | null> {
    return this.lookup(serverName, keyId, Date.now(), false);
  }

  /** The key to verify something signed at `ts` (events): old keys count until their expired_ts. */
  async keyAt(serverName: string, keyId: string, ts: number): Promise<string | null> {
    return this.lookup(serverName, keyId, ts, true);
  }

  private async lookup(
    serverName: string,
    keyId: string,
    ts: number,
    allowOld: boolean,
  ): Promise<string | null> {
    if (serverName === this.config.SERVER_NAME) {
      return keyId === this.serverKey.key.keyId ? this.serverKey.key.publicKeyBase64 : null;
    }
    if (!KEY_ID_RE.test(keyId)) return null;
    const usable = (row: ServerKeyRow | null) =>
      row !== null &&
      (row.expired_ts === null
        ? Math.min(row.valid_until_ts, row.fetched_ts + MAX_VALIDITY_MS) >= ts
        : allowOld && row.expired_ts > ts);
    let row = await this.repo.get(serverName, keyId);
    if (usable(row)) return row!.verify_key;
    await this.refresh(serverName, ts);
    row = await this.repo.get(serverName, keyId);
    return usable(row) ? row!.verify_key : null;
  }

  /** Fetches a server's keys (directly, then through notaries) unless a recent attempt failed; never throws. */
  refresh(serverName: string, minimumValidUntilTs = Date.now()): Promise<boolean> {
    let pending = this.inflight.get(serverName);
    if (!pending) {
      pending = this.fetch(serverName, minimumValidUntilTs).finally(() => this.inflight.delete(serverName));
      this.inflight.set(serverName, pending);
    }
    return pending;
  }

  private async fetch(serverName: string, minimumValidUntilTs: number): Promise<boolean> {
    const gate = await this.redis.client.set(
      `federation:keyfetch:${serverName}`,
      '1',
      'PX',
      REFETCH_BACKOFF_MS,
      'NX',
    );
    if (gate === null) return false;
    if (await this.fetchDirect(serverName)) return true;
    for (const notary of this.config.trustedKeyServers) {
      if (notary !== serverName && (await this.fetchViaNotary(notary, serverName, minimumValidUntilTs)))
        return true;
    }
    return false;
  }

  private async fetchDirect(serverName: string): Promise<boolean> {
    try {
      const res = await this.client.request<unknown>(serverName, 'GET', '/_matrix/key/v2/server', {
        signed: false,
      });
      await this.storeVerified(serverName, res);
      await this.redis.client.del(`federation:keyfetch:${serverName}`);
      return true;
    } catch (err) {
      this.logger.warn(`Could not fetch the keys of ${serverName}: ${(err as Error).message}`);
      return false;
    }
  }

  private async fetchViaNotary(
    notary: string,
    serverName: string,
    minimumValidUntilTs: number,
  ): Promise<boolean> {
    try {
      const res = await this.client.request<{ server_keys?: unknown }>(
        notary,
        'POST',
        '/_matrix/key/v2/query',
        {
          signed: false,
          body: { server_keys: { [serverName]: {} } },
        },
      );
      if (!Array.isArray(res.server_keys)) throw new Error('server_keys is not a list');
      let stored = false;
      for (const answer of res.server_keys) {
        if (!isObject(answer) || answer.server_name !== serverName) continue;
        if (!(await this.signedByNotary(answer, notary))) {
          this.logger.warn(`${notary}'s answer for ${serverName} lacks a valid notary signature`);
          continue;
        }
        if (Number(answer.valid_until_ts) < minimumValidUntilTs) continue;
        await this.storeVerified(serverName, answer);
        stored = true;
      }
      return stored;
    } catch (err) {
      this.logger.warn(
        `Could not fetch the keys of ${serverName} through ${notary}: ${(err as Error).message}`,
      );
      return false;
    }
  }

  private async signedByNotary(answer: Record<string, unknown>, notary: string): Promise<boolean> {
    const sigs = (answer.signatures as Record<string, Record<string, string>> | undefined)?.[notary] ?? {};
    for (const keyId of Object.keys(sigs)) {
      const key = await this.currentKey(notary, keyId);
      if (key && verifyJsonSignature(answer, notary, keyId, key)) return true;
    }
    return false;
  }

  /** Checks a key response (right server, well-formed, self-signed by every current key) and stores it. */
  async storeVerified(serverName: string, value: unknown): Promise<ServerKeysResponse> {
    const res = checkKeyResponse(serverName, value);
    const keys: StoredKey[] = [];
    for (const [keyId, { key }] of Object.entries(res.verify_keys)) {
      if (!verifyJsonSignature(res, serverName, keyId, key)) {
        throw new RemoteServerError(
          serverName,
          null,
          `${serverName}'s key response is not signed by ${keyId}`,
        );
      }
      keys.push({ keyId, verifyKey: key, validUntilTs: res.valid_until_ts, expiredTs: null });
    }
    for (const [keyId, old] of Object.entries(res.old_verify_keys ?? {})) {
      keys.push({ keyId, verifyKey: old.key, validUntilTs: old.expired_ts, expiredTs: old.expired_ts });
    }
    await this.repo.store(serverName, keys, res, res.valid_until_ts);
    return res;
  }

  /** The last stored response of a server, as a notary re-serves it. */
  cachedResponse(serverName: string) {
    return this.repo.response(serverName);
  }
}

function checkKeyResponse(serverName: string, value: unknown): ServerKeysResponse {
  const bad = (why: string) => new RemoteServerError(serverName, null, `${serverName}'s key response ${why}`);
  if (!isObject(value)) throw bad('is not an object');
  if (value.server_name !== serverName) throw bad(`names ${String(value.server_name)}`);
  if (!Number.isSafeInteger(value.valid_until_ts)) throw bad('has no valid_until_ts');
  if (!isObject(value.verify_keys) || Object.keys(value.verify_keys).length === 0)
    throw bad('has no verify_keys');
  for (const [keyId, k] of Object.entries(value.verify_keys)) {
    if (!KEY_ID_RE.test(keyId) || !isObject(k) || typeof k.key !== 'string')
      throw bad(`has a bad key ${keyId}`);
  }
  if (value.old_verify_keys !== undefined) {
    if (!isObject(value.old_verify_keys)) throw bad('has bad old_verify_keys');
    for (const [keyId, k] of Object.entries(value.old_verify_keys)) {
      if (
        !KEY_ID_RE.test(keyId) ||
        !isObject(k) ||
        typeof k.key !== 'string' ||
        !Number.isSafeInteger(k.expired_ts)
      ) {
        throw bad(`has a bad old key ${keyId}`);
      }
    }
  }
  if (!isObject(value.signatures)) throw bad('is not signed');
  return value as unknown as ServerKeysResponse;
}
