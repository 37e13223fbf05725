import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import { hasNul } from '../../common/http/no-nul.validator.js';
import type { Requester } from '../auth/requester.js';
import { DeviceRepository } from '../repositories/device.repository.js';
import { ToDeviceRepository, type ToDeviceTarget } from '../repositories/to-device.repository.js';

/** Devices one request may name, and reach (a `*` counts each of the user's devices). */
const MAX_TARGETS = 10_000;
/** Messages one /sync carries at most (as Synapse), and about how many bytes: the rest come next. */
const MAX_PER_SYNC = 100;
const MAX_BYTES_PER_SYNC = 1024 * 1024;
const MAX_KEY_BYTES = 255;

export interface ToDeviceEvent {
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

/**
 * Send-to-device messages between this server's users (how clients share end-to-end encryption
 * keys): stored per target device and delivered in that device's /sync until its client has
 * acknowledged them. Messages for users of other servers are dropped (there is no federation of
 * them yet), as are those for devices that do not exist.
 */
@Injectable()
export class ToDeviceService {
  private readonly logger = new Logger('ToDevice');

  constructor(
    private readonly config: AppConfig,
    private readonly devices: DeviceRepository,
    private readonly messages: ToDeviceRepository,
    private readonly notifier: StreamNotifier,
  ) {}

  /** PUT /sendToDevice/{eventType}/{txnId}: idempotent per sending device and transaction ID. */
  async send(
    requester: Requester,
    type: string,
    txnId: string,
    messages: Record<string, unknown>,
  ): Promise<void> {
    for (const [what, value] of [
      ['event type', type],
      ['transaction ID', txnId],
    ] as const) {
      if (value === '' || Buffer.byteLength(value) > MAX_KEY_BYTES || value.includes('\u0000'))
        throw M.invalidParam(`The ${what} must be 1 to 255 bytes, without NUL characters`);
    }
    // Checked whole before anything is looked up: the request's size bounds its work.
    const requested: {
      userId: string;
      localpart: string;
      local: boolean;
      deviceId: string;
      content: unknown;
    }[] = [];
    for (const [userId, byDevice] of Object.entries(messages)) {
      const user = parseUserId(userId);
      if (!user) throw M.invalidParam(`'${userId}' is not a valid user ID`);
      if (typeof byDevice !== 'object' || byDevice === null || Array.isArray(byDevice))
        throw M.badJson(`messages.${userId} must be an object of device IDs`);
      for (const [deviceId, content] of Object.entries(byDevice as Record<string, unknown>)) {
        if (typeof content !== 'object' || content === null || Array.isArray(content))
          throw M.badJson(`messages.${userId}.${deviceId} must be an object`);
        requested.push({
          userId,
          localpart: user.localpart,
          local: user.serverName === this.config.SERVER_NAME,
          deviceId,
          content,
        });
      }
      if (requested.length > MAX_TARGETS)
        throw M.invalidParam(`A request may name at most ${MAX_TARGETS} devices`);
    }
    // Stored as JSON text, so NUL would survive; refused anyway like everywhere else it is stored.
    if (hasNul(messages)) throw M.badJson('messages must not contain NUL characters');

    const local = requested.filter((r) => r.local);
    const devicesOf = new Map<string, string[]>();
    for (const d of await this.devices.deviceIdsOf(
      [...new Set(local.map((r) => r.localpart))],
      this.config.SERVER_NAME,
    )) {
      devicesOf.set(d.localpart, [...(devicesOf.get(d.localpart) ?? []), d.device_id]);
    }
    // One message per device, also when `*` and the device's own ID both name it.
    const targets = new Map<string, ToDeviceTarget>();
    for (const r of local) {
      const known = devicesOf.get(r.localpart) ?? [];
      const ids = r.deviceId === '*' ? known : known.includes(r.deviceId) ? [r.deviceId] : [];
      for (const id of ids) {
        const key = JSON.stringify([r.userId, id]);
        if (r.deviceId === '*' && targets.has(key)) continue;
        targets.set(key, { userId: r.userId, deviceId: id, content: JSON.stringify(r.content) });
      }
    }
    if (targets.size > MAX_TARGETS)
      throw M.invalidParam(`A request may reach at most ${MAX_TARGETS} devices`);
    const list = [...targets.values()];
    const position = await this.messages.store(requester.userId, requester.deviceId, txnId, type, list);
    const remote = requested.length - local.length;
    if (remote > 0) this.logger.debug(`Dropped ${remote} to-device messages for other servers' users`);
    if (!position) return;
    await this.notifier
      .notify({ userIds: [...new Set(list.map((t) => t.userId))], position })
      .catch((err: Error) => this.logger.warn(`Could not wake /sync for to-device messages: ${err.message}`));
  }

  /**
   * For a device's /sync: what `since` acknowledges is forgotten, and up to MAX_PER_SYNC of the
   * other messages at or below `upTo` are delivered, oldest first. A sync that could not carry
   * them all records how far it got, so that syncing on from its token acknowledges only those.
   */
  async forSync(
    userId: string,
    deviceId: string,
    since: number | undefined,
    upTo: number,
  ): Promise<ToDeviceEvent[]> {
    const taken = await this.messages.takePending(userId, deviceId, since ?? 0, upTo, MAX_PER_SYNC);
    // And at most about MAX_BYTES_PER_SYNC of content (one message always goes).
    let bytes = 0;
    const rows = taken.rows.filter((r, i) => (bytes += r.content.length) <= MAX_BYTES_PER_SYNC || i === 0);
    const more = taken.more || rows.length < taken.rows.length;
    if (more)
      await this.messages.recordCapped(userId, deviceId, upTo, Number(rows[rows.length - 1].stream_pos));
    return rows.map((r) => ({
      sender: r.sender,
      type: r.type,
      content: JSON.parse(r.content) as Record<string, unknown>,
    }));
  }
}
