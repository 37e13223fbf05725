import type { Signatures } from '../../common/crypto/signing-key.js';

/** A device's identity keys as uploaded by the client (`DeviceKeys` in the spec). */
export interface DeviceKeys {
  user_id: string;
  device_id: string;
  algorithms: string[];
  keys: Record<string, string>;
  signatures: Signatures;
  [extra: string]: unknown;
}

/** `DeviceKeys` plus the display name, as /keys/query returns it. */
export type DeviceKeysWithUnsigned = DeviceKeys & { unsigned?: { device_display_name?: string } };

/** A cross-signing key (`CrossSigningKey` in the spec). */
export interface CrossSigningKey {
  user_id: string;
  usage: string[];
  keys: Record<string, string>;
  signatures?: Signatures;
  [extra: string]: unknown;
}

/** A one-time or fallback key: a bare base64 string, or a signed object. */
export type KeyObject = string | { key: string; signatures?: Signatures; [extra: string]: unknown };

export type CrossSigningKeyType = 'master' | 'self_signing' | 'user_signing';

/** The answer of a key query: `device_keys` plus cross-signing keys, as both APIs shape it. */
export interface KeysQueryResult {
  device_keys: Record<string, Record<string, DeviceKeysWithUnsigned>>;
  master_keys: Record<string, CrossSigningKey>;
  self_signing_keys: Record<string, CrossSigningKey>;
}

/** `{user: {device: {"<algorithm>:<key_id>": key}}}` as /keys/claim returns it. */
export type ClaimedKeys = Record<string, Record<string, Record<string, KeyObject>>>;

/** One device of a remote user's device list, as `GET /user/devices` returns it. */
export interface RemoteDevice {
  device_id: string;
  keys: DeviceKeys | null;
  device_display_name?: string;
}

/** A remote user's device list, as fetched from their server. */
export interface RemoteDeviceList {
  userId: string;
  /** The remote's device-list stream position, when known (absent for a /user/keys/query answer). */
  streamId: number | null;
  devices: RemoteDevice[];
  masterKey?: CrossSigningKey;
  selfSigningKey?: CrossSigningKey;
}

/** Where a cached remote device list stands. */
export interface RemoteListState {
  userId: string;
  serverName: string;
  streamId: number | null;
  isStale: boolean;
}

/** `GET /_matrix/federation/v1/user/devices/{userId}` for a local user. */
export interface FederationDeviceList {
  user_id: string;
  stream_id: number;
  devices: { device_id: string; keys: DeviceKeys; device_display_name?: string }[];
  master_key?: CrossSigningKey;
  self_signing_key?: CrossSigningKey;
}
