import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SigningKey } from '../../src/common/crypto/signing-key.js';
import { parseXMatrix, signRequest, verifyRequestSignature } from '../../src/federation/auth/x-matrix.js';

export interface FakeDevice {
  device_id: string;
  keys: Record<string, unknown>;
  device_display_name?: string;
}

/**
 * A stand-in remote homeserver for single-process tests: serves its signing key and its users'
 * devices, checks the X-Matrix signature of every federation request it gets (with the keys of the
 * server under test), and counts what it was asked.
 */
export class FakeHomeserver {
  key = new SigningKey('ed25519:fake1', randomBytes(32));
  /** Keys this server used before, with when it stopped using them. */
  readonly oldKeys: { key: SigningKey; expiredTs: number }[] = [];
  /** Key responses of other servers this fake serves as a notary (POST /_matrix/key/v2/query). */
  readonly notaryFor = new Map<string, Record<string, unknown>>();
  /** A dishonest notary passes answers on without its own signature. */
  notarySigns = true;
  readonly requests: { method: string; path: string; origin?: string; body?: unknown }[] = [];
  readonly devices = new Map<string, FakeDevice[]>();
  streamId = 1;
  /** Answer federation requests with this status and a Matrix error instead (e.g. 403). */
  refuseWith: number | null = null;
  /** Where to get the verify keys of the servers that call us. */
  peers = new Map<string, string>();
  private server!: http.Server;

  constructor(readonly serverName: string) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  count(pathPrefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix)).length;
  }

  /** How long the published key response says it is valid (negative: already expired). */
  keyValidityMs = 3600_000;

  keyResponse(validUntil = Date.now() + this.keyValidityMs) {
    return this.key.signJson(this.serverName, {
      server_name: this.serverName,
      valid_until_ts: validUntil,
      verify_keys: { [this.key.keyId]: { key: this.key.publicKeyBase64 } },
      old_verify_keys: Object.fromEntries(
        this.oldKeys.map((o) => [o.key.keyId, { key: o.key.publicKeyBase64, expired_ts: o.expiredTs }]),
      ),
    });
  }

  /** Replaces the signing key; the old one is listed in old_verify_keys from now on. */
  rotateKey(newKeyId: string): SigningKey {
    const old = this.key;
    this.oldKeys.push({ key: old, expiredTs: Date.now() });
    this.key = new SigningKey(newKeyId, randomBytes(32));
    return old;
  }

  /** Device keys of one of our users, self-signed as a client would. */
  deviceKeys(userId: string, deviceId: string): Record<string, unknown> {
    return {
      user_id: userId,
      device_id: deviceId,
      algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: `curve-${deviceId}`, [`ed25519:${deviceId}`]: `ed-${deviceId}` },
      signatures: { [userId]: { [`ed25519:${deviceId}`]: `sig-${deviceId}` } },
    };
  }

  /** The X-Matrix header for a request from this server to `destination`. */
  sign(method: string, uri: string, destination: string, content?: unknown): string {
    return signRequest(this.key, {
      method,
      uri,
      origin: this.serverName,
      destination,
      ...(content !== undefined ? { content } : {}),
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = req.url ?? '';
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    if (path === '/_matrix/key/v2/server') return send(200, this.keyResponse());
    if (path === '/_matrix/key/v2/query' && req.method === 'POST') {
      this.requests.push({ method: 'POST', path, body });
      const wanted = Object.keys((body as { server_keys: Record<string, unknown> }).server_keys);
      const answers = wanted
        .filter((name) => this.notaryFor.has(name))
        .map((name) =>
          this.notarySigns
            ? this.key.signJson(this.serverName, this.notaryFor.get(name)!)
            : this.notaryFor.get(name)!,
        );
      return send(200, { server_keys: answers });
    }

    const auth = parseXMatrix(req.headers.authorization);
    this.requests.push({ method: req.method!, path, origin: auth?.origin, body });
    if (!auth || auth.destination !== this.serverName)
      return send(401, { errcode: 'M_UNAUTHORIZED', error: 'no auth' });
    const peerKey = await this.peerKey(auth.origin, auth.key);
    const signed = { method: req.method!, uri: path, origin: auth.origin, destination: this.serverName };
    if (
      !peerKey ||
      !verifyRequestSignature({ ...signed, ...(body !== undefined ? { content: body } : {}) }, auth, peerKey)
    ) {
      return send(401, { errcode: 'M_UNAUTHORIZED', error: 'bad signature' });
    }
    if (this.refuseWith !== null) return send(this.refuseWith, { errcode: 'M_FORBIDDEN', error: 'go away' });

    const devicesMatch = /^\/_matrix\/federation\/v1\/user\/devices\/([^?]+)$/.exec(path);
    if (req.method === 'GET' && devicesMatch) {
      const userId = decodeURIComponent(devicesMatch[1]);
      return send(200, {
        user_id: userId,
        stream_id: this.streamId,
        devices: this.devices.get(userId) ?? [],
      });
    }
    if (req.method === 'POST' && path === '/_matrix/federation/v1/user/keys/query') {
      const wanted = (body as { device_keys: Record<string, string[]> }).device_keys;
      const deviceKeys: Record<string, Record<string, unknown>> = {};
      for (const user of Object.keys(wanted)) {
        deviceKeys[user] = Object.fromEntries(
          (this.devices.get(user) ?? []).map((d) => [
            d.device_id,
            { ...d.keys, unsigned: { device_display_name: d.device_display_name } },
          ]),
        );
      }
      return send(200, { device_keys: deviceKeys });
    }
    if (req.method === 'POST' && path === '/_matrix/federation/v1/user/keys/claim') {
      const wanted = (body as { one_time_keys: Record<string, Record<string, string>> }).one_time_keys;
      const out: Record<string, Record<string, unknown>> = {};
      for (const [user, devices] of Object.entries(wanted)) {
        out[user] = Object.fromEntries(
          Object.entries(devices).map(([d, alg]) => [d, { [`${alg}:AAAA`]: { key: 'otk', signatures: {} } }]),
        );
      }
      return send(200, { one_time_keys: out });
    }
    return send(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  }

  private async peerKey(origin: string, keyId: string): Promise<string | null> {
    const base = this.peers.get(origin);
    if (!base) return null;
    const res = await fetch(`${base}/_matrix/key/v2/server`);
    const json = (await res.json()) as { verify_keys: Record<string, { key: string }> };
    return json.verify_keys[keyId]?.key ?? null;
  }
}
