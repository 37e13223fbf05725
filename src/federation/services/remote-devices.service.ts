import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { parseUserId } from '../../common/matrix/ids.js';
import { KeysService } from '../../accounts/keys/keys.service.js';
import type { CrossSigningKey, DeviceKeys, RemoteDevice } from '../../accounts/keys/keys.types.js';
import type { JobContext } from '../../jobs/job-context.js';
import { JobService } from '../../jobs/job.service.js';
import { JobName } from '../../jobs/job.types.js';
import { OnJob } from '../../jobs/on-job.decorator.js';
import { FederationClient, RemoteServerError } from './federation-client.service.js';

/** How long refreshDevices waits for the fetch (the remote request itself times out after 10 s). */
const REFRESH_WAIT_MS = 30_000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Remote users' device lists: fetching them from their server, and reacting to their updates. */
@Injectable()
export class RemoteDevicesService {
  private readonly logger = new Logger(RemoteDevicesService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly keys: KeysService,
    private readonly client: FederationClient,
    private readonly jobs: JobService,
  ) {}

  /**
   * POST /_dendrite/admin/refreshDevices: fetches the user's devices now (through a job, deduplicated
   * per user) and waits for it. Unlike Dendrite, it fetches also when no device was known, and a
   * remote failure is an error (502 naming the server), not a silent 200.
   */
  async refreshNow(userId: string): Promise<void> {
    const parsed = parseUserId(userId);
    if (!parsed) throw M.invalidParam(`'${userId}' is not a valid user ID`);
    if (parsed.serverName === this.config.SERVER_NAME) {
      throw M.invalidParam('Can not mark local device list as stale');
    }
    await this.jobs.run(JobName.FederationRefreshDevices, { userId }, REFRESH_WAIT_MS);
  }

  @OnJob(JobName.FederationRefreshDevices)
  async handleRefresh(
    payload: { userId: string },
    ctx: JobContext,
  ): Promise<{ devices: number; changed: boolean }> {
    const { userId } = payload;
    const server = parseUserId(userId)!.serverName;
    const started = Date.now();
    let answer: unknown;
    try {
      answer = await this.client.request(
        server,
        'GET',
        `/_matrix/federation/v1/user/devices/${encodeURIComponent(userId)}`,
      );
    } catch (err) {
      if (err instanceof RemoteServerError) {
        throw new MatrixError(
          'M_UNKNOWN',
          `Could not fetch the devices of ${userId} from ${server}: ${err.message}`,
          502,
          {
            server,
          },
        );
      }
      throw err;
    }
    const list = parseDeviceListAnswer(userId, server, answer);
    const { changed } = await this.keys.storeRemoteDeviceList(list, started);
    await ctx.log(
      `Fetched ${list.devices.length} device(s) of ${userId} from ${server}${changed ? ' (changed)' : ''}`,
    );
    return { devices: list.devices.length, changed };
  }

  /**
   * An `m.device_list_update` (or `m.signing_key_update`) from `origin`: a cached list becomes stale
   * and is fetched again in the background; lists we never cached are ignored, as there is nobody
   * here who asked for them.
   */
  async onDeviceListUpdate(origin: string, content: unknown): Promise<void> {
    const userId = isObject(content) ? content.user_id : undefined;
    if (typeof userId !== 'string' || parseUserId(userId)?.serverName !== origin) {
      this.logger.warn(`Ignoring a device-list update from ${origin} about ${String(userId)}`);
      return;
    }
    const stale = await this.keys.markRemoteStale([userId]);
    if (stale.length > 0) await this.jobs.start(JobName.FederationRefreshDevices, { userId });
  }
}

/** Checks a `GET /user/devices` answer: it must be about the user asked for, with well-formed devices. */
function parseDeviceListAnswer(userId: string, server: string, answer: unknown) {
  const bad = (why: string) =>
    new MatrixError('M_UNKNOWN', `${server} answered the device list of ${userId} badly: ${why}`, 502, {
      server,
    });
  if (!isObject(answer)) throw bad('not an object');
  if (answer.user_id !== userId) throw bad(`it is about ${String(answer.user_id)}`);
  if (!Array.isArray(answer.devices)) throw bad('devices is not a list');
  const devices: RemoteDevice[] = [];
  for (const d of answer.devices) {
    if (!isObject(d) || typeof d.device_id !== 'string' || d.device_id === '') continue;
    const keys = isDeviceKeys(d.keys, userId, d.device_id) ? d.keys : null;
    devices.push({
      device_id: d.device_id,
      keys,
      ...(typeof d.device_display_name === 'string' ? { device_display_name: d.device_display_name } : {}),
    });
  }
  return {
    userId,
    streamId: Number.isSafeInteger(answer.stream_id) ? (answer.stream_id as number) : null,
    devices,
    masterKey: crossSigningKey(answer.master_key, userId, 'master'),
    selfSigningKey: crossSigningKey(answer.self_signing_key, userId, 'self_signing'),
  };
}

export function isDeviceKeys(v: unknown, userId: string, deviceId: string): v is DeviceKeys {
  return (
    isObject(v) &&
    v.user_id === userId &&
    v.device_id === deviceId &&
    Array.isArray(v.algorithms) &&
    isObject(v.keys) &&
    isObject(v.signatures)
  );
}

export function crossSigningKey(v: unknown, userId: string, usage: string): CrossSigningKey | undefined {
  if (!isObject(v) || v.user_id !== userId || !Array.isArray(v.usage) || !v.usage.includes(usage))
    return undefined;
  if (!isObject(v.keys)) return undefined;
  return v as CrossSigningKey;
}
