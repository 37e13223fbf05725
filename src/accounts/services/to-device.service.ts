import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import { hasNul } from '../../common/http/no-nul.validator.js';
import type { Requester } from '../auth/requester.js';
import { DeviceRepository } from '../repositories/device.repository.js';
import { ToDeviceRepository, type ToDeviceTarget } from '../repositories/to-device.repository.js';

/** Target devices one request may reach (a `*` counts each of the user's devices). */
const MAX_TARGETS = 10_000;
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
    const targets: ToDeviceTarget[] = [];
    let remote = 0;
    for (const [userId, byDevice] of Object.entries(messages)) {
      const user = parseUserId(userId);
      if (!user) throw M.invalidParam(`'${userId}' is not a valid user ID`);
      if (typeof byDevice !== 'object' || byDevice === null || Array.isArray(byDevice))
        throw M.badJson(`messages.${userId} must be an object of device IDs`);
      const entries = Object.entries(byDevice as Record<string, unknown>);
      for (const [deviceId, content] of entries) {
        if (typeof content !== 'object' || content === null || Array.isArray(content))
          throw M.badJson(`messages.${userId}.${deviceId} must be an object`);
      }
      if (user.serverName !== this.config.SERVER_NAME) {
        remote += entries.length;
        continue;
      }
      const known = new Set(
        (await this.devices.list(user.localpart, user.serverName)).map((d) => d.device_id),
      );
      for (const [deviceId, content] of entries) {
        const ids = deviceId === '*' ? [...known] : known.has(deviceId) ? [deviceId] : [];
        for (const id of ids) targets.push({ userId, deviceId: id, content: JSON.stringify(content) });
      }
      if (targets.length > MAX_TARGETS)
        throw M.invalidParam(`A request may reach at most ${MAX_TARGETS} devices`);
    }
    // Stored as JSON text, so NUL would survive; refused anyway like everywhere else it is stored.
    if (hasNul(messages)) throw M.badJson('messages must not contain NUL characters');
    const position = await this.messages.store(requester.userId, requester.deviceId, txnId, type, targets);
    if (remote > 0) this.logger.debug(`Dropped ${remote} to-device messages for other servers' users`);
    if (!position) return;
    await this.notifier
      .notify({ userIds: [...new Set(targets.map((t) => t.userId))], position })
      .catch((err: Error) => this.logger.warn(`Could not wake /sync for to-device messages: ${err.message}`));
  }

  /**
   * For a device's /sync: what `since` covers has reached the client (it syncs on from there) and
   * is forgotten; every other message up to `upTo` is delivered, oldest first.
   */
  async forSync(
    userId: string,
    deviceId: string,
    since: number | undefined,
    upTo: number,
  ): Promise<ToDeviceEvent[]> {
    return (await this.messages.takePending(userId, deviceId, since ?? 0, upTo)).map((r) => ({
      sender: r.sender,
      type: r.type,
      content: JSON.parse(r.content) as Record<string, unknown>,
    }));
  }
}
