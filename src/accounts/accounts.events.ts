/**
 * In-process domain events the accounts module emits for modules above it (rooms re-sends member
 * events on a profile change; federation announces device-list changes). Emitted after the write
 * has committed.
 */
export const ProfileChangedEvent = 'accounts.profile_changed';
export interface ProfileChanged {
  userId: string;
  displayName: string | null;
  avatarUrl: string | null;
}

export const DevicesChangedEvent = 'accounts.devices_changed';
export interface DevicesChanged {
  userId: string;
  deviceIds: string[];
  deleted: boolean;
}

/**
 * A user's device list (local or cached remote) moved to `position` in the device-list stream. The
 * accounts module knows no rooms: rooms fans the /sync wake-up out to the rooms the user is in, so
 * that everyone sharing a room with them hears of it without waiting for their long-poll to time out.
 */
export const DeviceListChangedEvent = 'accounts.device_list_changed';
export interface DeviceListChanged {
  userId: string;
  position: number;
}
