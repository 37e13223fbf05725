import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { ServerKeyService } from '../../common/crypto/server-key.service.js';
import { M } from '../../common/errors/matrix-error.js';
import { KeyRingService, type ServerKeysResponse } from './key-ring.service.js';
import { isValidServerName } from './server-resolution.js';

/** How long other servers may rely on our key response before asking again. */
export const OWN_KEYS_VALIDITY_MS = 24 * 3600_000;
const MAX_SERVERS_PER_QUERY = 100;

/** Criteria of a notary query: server name → key ID → `{minimum_valid_until_ts?}` (no key IDs = all keys). */
export type NotaryCriteria = Record<string, Record<string, { minimum_valid_until_ts?: number }>>;

/** The key server: our own signed key response, and notary answers about other servers. */
@Injectable()
export class KeyServerService {
  constructor(
    private readonly config: AppConfig,
    private readonly serverKey: ServerKeyService,
    private readonly keyRing: KeyRingService,
  ) {}

  /** GET /_matrix/key/v2/server: self-signed, valid for a day. */
  ownKeys(now = Date.now()): ServerKeysResponse {
    const key = this.serverKey.key;
    return this.serverKey.sign({
      server_name: this.config.SERVER_NAME,
      valid_until_ts: now + OWN_KEYS_VALIDITY_MS,
      verify_keys: { [key.keyId]: { key: key.publicKeyBase64 } },
      old_verify_keys: {},
    }) as ServerKeysResponse;
  }

  /** A notary answer: each server's last key response (fetched again when too old), counter-signed by us. */
  async query(
    criteria: unknown,
    defaultMinimum = Date.now(),
  ): Promise<{ server_keys: ServerKeysResponse[] }> {
    const servers = checkCriteria(criteria);
    const answers: ServerKeysResponse[] = [];
    for (const [server, keyCriteria] of servers) {
      if (server === this.config.SERVER_NAME) {
        answers.push(this.ownKeys());
        continue;
      }
      const minimums = Object.values(keyCriteria).map((c) => c.minimum_valid_until_ts ?? defaultMinimum);
      const minimum = minimums.length > 0 ? Math.max(...minimums) : defaultMinimum;
      let cached = await this.keyRing.cachedResponse(server);
      const missing = Object.keys(keyCriteria).some((id) => !hasKey(cached?.response, id));
      if (!cached || cached.valid_until_ts < minimum || missing) {
        await this.keyRing.refresh(server, minimum);
        cached = await this.keyRing.cachedResponse(server);
      }
      // Servers that never answered are left out; an old answer still verifies old events.
      if (cached) answers.push(this.serverKey.sign(cached.response) as ServerKeysResponse);
    }
    return { server_keys: answers };
  }

  /** GET /_matrix/key/v2/query/{serverName}: the same as a one-server POST. */
  queryOne(serverName: string, minimumValidUntilTs: string | undefined) {
    if (!isValidServerName(serverName)) throw M.invalidParam(`'${serverName}' is not a server name`);
    let minimum = Date.now();
    if (minimumValidUntilTs !== undefined) {
      if (!/^\d{1,16}$/.test(minimumValidUntilTs)) {
        throw M.invalidParam('minimum_valid_until_ts must be a timestamp in milliseconds');
      }
      minimum = Number(minimumValidUntilTs);
    }
    return this.query({ [serverName]: {} }, minimum);
  }
}

function hasKey(response: Record<string, unknown> | undefined, keyId: string): boolean {
  if (!response) return false;
  const current = response.verify_keys as Record<string, unknown> | undefined;
  const old = response.old_verify_keys as Record<string, unknown> | undefined;
  return Boolean(current?.[keyId] ?? old?.[keyId]);
}

function checkCriteria(criteria: unknown): [string, Record<string, { minimum_valid_until_ts?: number }>][] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(criteria)) throw M.badJson('server_keys must be an object');
  const entries = Object.entries(criteria);
  if (entries.length > MAX_SERVERS_PER_QUERY)
    throw M.badJson(`at most ${MAX_SERVERS_PER_QUERY} servers per query`);
  for (const [server, keys] of entries) {
    if (!isValidServerName(server)) throw M.invalidParam(`'${server}' is not a server name`);
    if (!isObject(keys)) throw M.badJson(`server_keys.${server} must be an object`);
    for (const [keyId, c] of Object.entries(keys)) {
      if (!isObject(c)) throw M.badJson(`server_keys.${server}.${keyId} must be an object`);
      const min = c.minimum_valid_until_ts;
      if (min !== undefined && !Number.isSafeInteger(min)) {
        throw M.badJson(`server_keys.${server}.${keyId}.minimum_valid_until_ts must be an integer`);
      }
    }
  }
  return entries as [string, Record<string, { minimum_valid_until_ts?: number }>][];
}
