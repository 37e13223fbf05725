import { M } from '../errors/matrix-error.js';

/** Localparts Lattice issues: the spec's strict grammar. Historical IDs from elsewhere may hold more. */
export const LOCALPART_RE = /^[a-z0-9._=\-/+]+$/;
const HISTORICAL_LOCALPART_RE = /^[\x21-\x39\x3b-\x7e]+$/;
const SERVER_NAME_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
const MAX_ID_BYTES = 255;

export interface UserId {
  localpart: string;
  serverName: string;
}

/** Parses `@localpart:server`; returns null when it is not a user ID. */
export function parseUserId(id: unknown): UserId | null {
  if (typeof id !== 'string' || !id.startsWith('@') || Buffer.byteLength(id) > MAX_ID_BYTES) return null;
  const colon = id.indexOf(':');
  if (colon < 2) return null;
  const localpart = id.slice(1, colon);
  const serverName = id.slice(colon + 1);
  if (!HISTORICAL_LOCALPART_RE.test(localpart) || !SERVER_NAME_RE.test(serverName)) return null;
  return { localpart, serverName };
}

export function userId(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

/** A user ID on this server, or M_INVALID_PARAM explaining why not. */
export function requireLocalUserId(id: string, serverName: string, action = 'this request'): UserId {
  const parsed = parseUserId(id);
  if (!parsed) throw M.invalidParam(`'${id}' is not a valid user ID`);
  if (parsed.serverName !== serverName) {
    throw M.invalidParam(
      `${action} only works for users on this server (${serverName}), not ${parsed.serverName}`,
    );
  }
  return parsed;
}

/** Parses `!opaque:server`; returns null when it is not a room ID. */
export function parseRoomId(id: unknown): { opaque: string; serverName: string } | null {
  if (typeof id !== 'string' || !id.startsWith('!') || Buffer.byteLength(id) > MAX_ID_BYTES) return null;
  const colon = id.indexOf(':');
  if (colon < 2) return null;
  const serverName = id.slice(colon + 1);
  const opaque = id.slice(1, colon);
  // The opaque part is printable: control characters (NUL above all, which PostgreSQL cannot store) are not.
  const control = [...opaque].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f');
  if (!SERVER_NAME_RE.test(serverName) || control) return null;
  return { opaque, serverName };
}

/** Parses `#alias:server`. */
export function parseRoomAlias(alias: unknown): { localpart: string; serverName: string } | null {
  if (typeof alias !== 'string' || !alias.startsWith('#') || Buffer.byteLength(alias) > MAX_ID_BYTES)
    return null;
  const colon = alias.indexOf(':');
  if (colon < 2) return null;
  const localpart = alias.slice(1, colon);
  const serverName = alias.slice(colon + 1);
  if (localpart.includes('\0') || !SERVER_NAME_RE.test(serverName)) return null;
  return { localpart, serverName };
}
