import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { requireLocalUserId, userId } from '../../common/matrix/ids.js';
import { AccountRepository } from '../repositories/account.repository.js';
import { DeviceRepository, type DeviceRow } from '../repositories/device.repository.js';

export interface ClientDevice {
  device_id: string;
  display_name?: string;
  last_seen_ip?: string;
  last_seen_ts?: number;
}

export interface Whois {
  user_id: string;
  devices: Record<
    string,
    {
      sessions: {
        connections: { ip: string | null; last_seen: number | null; user_agent: string | null }[];
      }[];
    }
  >;
}

function toClientDevice(d: DeviceRow): ClientDevice {
  return {
    device_id: d.device_id,
    ...(d.display_name !== null ? { display_name: d.display_name } : {}),
    ...(d.last_seen_ip !== null ? { last_seen_ip: d.last_seen_ip } : {}),
    ...(d.last_seen_ts !== null ? { last_seen_ts: Number(d.last_seen_ts) } : {}),
  };
}

@Injectable()
export class DevicesService {
  constructor(
    private readonly config: AppConfig,
    private readonly devices: DeviceRepository,
    private readonly accounts: AccountRepository,
  ) {}

  async list(localpart: string): Promise<ClientDevice[]> {
    return (await this.devices.list(localpart, this.config.SERVER_NAME)).map(toClientDevice);
  }

  async get(localpart: string, deviceId: string): Promise<ClientDevice> {
    // No device ID holds a NUL (and PostgreSQL could not compare one).
    const device = deviceId.includes('\0')
      ? null
      : await this.devices.get(localpart, this.config.SERVER_NAME, deviceId);
    if (!device) throw M.notFound('Unknown device');
    return toClientDevice(device);
  }

  async rename(localpart: string, deviceId: string, displayName: string | null): Promise<void> {
    if (
      deviceId.includes('\0') ||
      !(await this.devices.rename(localpart, this.config.SERVER_NAME, deviceId, displayName))
    ) {
      throw M.notFound('Unknown device');
    }
  }

  async exists(localpart: string, deviceId: string): Promise<boolean> {
    return (await this.devices.get(localpart, this.config.SERVER_NAME, deviceId)) !== null;
  }

  /** Device IDs and display names of a local user (for federation device lists and key queries). */
  async listRaw(localpart: string): Promise<DeviceRow[]> {
    return this.devices.list(localpart, this.config.SERVER_NAME);
  }

  /** Whois: one session per device, its connection being the last recorded request. */
  async whois(user: string): Promise<Whois> {
    const { localpart } = requireLocalUserId(user, this.config.SERVER_NAME, 'whois');
    if (!(await this.accounts.find(localpart, this.config.SERVER_NAME)))
      throw M.notFound('User does not exist');
    const devices = await this.devices.list(localpart, this.config.SERVER_NAME);
    const result: Whois = { user_id: userId(localpart, this.config.SERVER_NAME), devices: {} };
    for (const d of devices) {
      result.devices[d.device_id] = {
        sessions: [
          {
            connections: [
              {
                ip: d.last_seen_ip,
                last_seen: d.last_seen_ts === null ? null : Number(d.last_seen_ts),
                user_agent: d.user_agent,
              },
            ],
          },
        ],
      };
    }
    return result;
  }
}
