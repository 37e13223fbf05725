import type { RoomVersion } from './room-versions.js';

const V11_TOP_LEVEL = [
  'event_id',
  'type',
  'room_id',
  'sender',
  'state_key',
  'content',
  'hashes',
  'signatures',
  'depth',
  'prev_events',
  'auth_events',
  'origin_server_ts',
];
// v10 also keeps these (removed in v11).
const V10_EXTRA_TOP_LEVEL = ['prev_state', 'origin', 'membership'];

const V10_CONTENT: Record<string, string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': [
    'ban',
    'events',
    'events_default',
    'kick',
    'redact',
    'state_default',
    'users',
    'users_default',
  ],
  'm.room.history_visibility': ['history_visibility'],
};

const V11_CONTENT: Record<string, string[]> = {
  ...V10_CONTENT,
  'm.room.power_levels': [...V10_CONTENT['m.room.power_levels'], 'invite'],
  'm.room.redaction': ['redacts'],
};

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in obj) out[k] = obj[k];
  return out;
}

/** The spec's redaction algorithm for room versions 10 and 11. */
export function redact<T extends Record<string, unknown>>(event: T, version: RoomVersion): T {
  const top = version === '11' ? V11_TOP_LEVEL : [...V11_TOP_LEVEL, ...V10_EXTRA_TOP_LEVEL];
  const out = pick(event, top);
  const content = (event.content ?? {}) as Record<string, unknown>;
  const type = event.type as string;
  if (version === '11' && type === 'm.room.create') {
    out.content = { ...content };
  } else if (version === '11' && type === 'm.room.member') {
    const kept = pick(content, ['membership', 'join_authorised_via_users_server']);
    const tpi = content.third_party_invite as Record<string, unknown> | undefined;
    if (tpi && typeof tpi === 'object' && 'signed' in tpi) kept.third_party_invite = { signed: tpi.signed };
    out.content = kept;
  } else {
    out.content = pick(content, (version === '11' ? V11_CONTENT : V10_CONTENT)[type] ?? []);
  }
  return out as T;
}
