import type { ClientEvent, StoredEvent } from './pdu.js';

export interface FormatOptions {
  /** /sync omits room_id inside rooms.join etc.; everywhere else it is present. */
  includeRoomId?: boolean;
  /** The requesting device: its own events carry unsigned.transaction_id (local echo matching). */
  device?: { userId: string; deviceId: string };
  /** Redaction events by ID, for unsigned.redacted_because. */
  redactions?: Map<string, StoredEvent>;
  now?: number;
}

/** A stored event as clients see it. */
export function toClientEvent(e: StoredEvent, options: FormatOptions = {}): ClientEvent {
  const pdu = e.pdu;
  const now = options.now ?? Date.now();
  const out: ClientEvent = {
    event_id: e.event_id,
    type: pdu.type,
    sender: pdu.sender,
    origin_server_ts: pdu.origin_server_ts,
    content: pdu.content,
  };
  if (options.includeRoomId !== false) out.room_id = pdu.room_id;
  if (pdu.state_key !== undefined) out.state_key = pdu.state_key;
  // Clients read `redacts` at the top level in every room version.
  const redacts =
    pdu.redacts ??
    (pdu.type === 'm.room.redaction' ? (pdu.content.redacts as string | undefined) : undefined);
  if (redacts !== undefined) out.redacts = redacts;

  const unsigned: Record<string, unknown> = { age: Math.max(0, now - pdu.origin_server_ts) };
  if (e.replaces_state) {
    unsigned.replaces_state = e.replaces_state;
    if (e.prev_content) unsigned.prev_content = e.prev_content;
    if (e.prev_sender) unsigned.prev_sender = e.prev_sender;
  }
  if (
    e.txn_id &&
    options.device &&
    pdu.sender === options.device.userId &&
    e.txn_device === options.device.deviceId
  ) {
    unsigned.transaction_id = e.txn_id;
  }
  if (e.redacted_by) {
    const redaction = options.redactions?.get(e.redacted_by);
    unsigned.redacted_because = redaction
      ? toClientEvent(redaction, { ...options, redactions: undefined })
      : {
          event_id: e.redacted_by,
          type: 'm.room.redaction',
          sender: pdu.sender,
          content: {},
          origin_server_ts: now,
        };
  }
  out.unsigned = unsigned;
  return out;
}

/** Stripped state for invite_state: type, state_key, sender, content only. */
export function toStrippedState(e: StoredEvent): {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
} {
  return { type: e.pdu.type, state_key: e.pdu.state_key ?? '', sender: e.pdu.sender, content: e.pdu.content };
}
