/** Room versions Lattice can create and join; v12 changes room IDs and creators and is not built. */
export const SUPPORTED_ROOM_VERSIONS = ['10', '11'] as const;
export type RoomVersion = (typeof SUPPORTED_ROOM_VERSIONS)[number];
export const DEFAULT_ROOM_VERSION: RoomVersion = '10';

export function isSupportedRoomVersion(v: unknown): v is RoomVersion {
  return typeof v === 'string' && (SUPPORTED_ROOM_VERSIONS as readonly string[]).includes(v);
}
