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
