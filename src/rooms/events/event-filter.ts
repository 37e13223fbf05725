import type { StoredEvent } from './pdu.js';

/** The RoomEventFilter fields Lattice applies (spec: filter definitions). */
export interface RoomEventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
  rooms?: string[];
  not_rooms?: string[];
  lazy_load_members?: boolean;
  contains_url?: boolean;
}

const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * What is wrong with a client's RoomEventFilter (as JSON), or undefined when it is usable. `name`
 * prefixes the field names in the message (`room.timeline`...).
 */
export function roomEventFilterProblem(v: unknown, name = 'filter'): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${name} must be an object`;
  const f = v as Record<string, unknown>;
  if (f.limit !== undefined && (!Number.isInteger(f.limit) || (f.limit as number) < 0))
    return `${name}.limit must be a non-negative integer`;
  for (const k of ['types', 'not_types', 'senders', 'not_senders', 'rooms', 'not_rooms']) {
    if (f[k] !== undefined && !isStringList(f[k])) return `${name}.${k} must be a list of strings`;
  }
  for (const k of ['lazy_load_members', 'include_redundant_members', 'contains_url']) {
    if (f[k] !== undefined && typeof f[k] !== 'boolean') return `${name}.${k} must be a boolean`;
  }
  return undefined;
}

/**
 * Whether `type` matches a filter pattern in which `*` stands for any run of characters. Greedy
 * with a single backtrack point rather than a RegExp: `.*` backtracking is exponential in the
 * number of stars, and anyone can send both the pattern and a 255-byte event type.
 */
export function matchesType(type: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  // The last star seen and the text position it has been stretched to; -1 until one is seen.
  let star = -1;
  let starT = 0;
  while (t < type.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      starT = t;
    } else if (p < pattern.length && pattern[p] === type[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      // Earlier stars never need revisiting: letting the last one absorb one more character
      // covers every alignment they could have produced.
      p = star + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function eventMatches(e: StoredEvent, f: RoomEventFilter | undefined): boolean {
  if (!f) return true;
  const { type, sender, content } = e.pdu;
  if (f.types && !f.types.some((t) => matchesType(type, t))) return false;
  if (f.not_types?.some((t) => matchesType(type, t))) return false;
  if (f.senders && !f.senders.includes(sender)) return false;
  if (f.not_senders?.includes(sender)) return false;
  if (f.contains_url !== undefined && (typeof content.url === 'string') !== f.contains_url) return false;
  return true;
}

export function roomMatches(
  roomId: string,
  f: { rooms?: string[]; not_rooms?: string[] } | undefined,
): boolean {
  if (!f) return true;
  if (f.rooms && !f.rooms.includes(roomId)) return false;
  if (f.not_rooms?.includes(roomId)) return false;
  return true;
}
