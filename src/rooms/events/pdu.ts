import type { Signatures } from '../../common/crypto/signing-key.js';

/** A persistent data unit as signed and hashed (room versions 10 and 11: no event_id inside). */
export interface Pdu {
  room_id: string;
  sender: string;
  origin_server_ts: number;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  depth: number;
  prev_events: string[];
  auth_events: string[];
  redacts?: string;
  hashes: { sha256: string };
  signatures: Signatures;
  unsigned?: Record<string, unknown>;
  origin?: string;
}

/** A stored event: the PDU plus what the server knows about it. */
export interface StoredEvent {
  event_id: string;
  stream_pos: number;
  pdu: Pdu;
  /** Set once the event has been redacted: the ID of the redaction. */
  redacted_by?: string | null;
  /** Content of the state entry this event replaced (unsigned.prev_content). */
  prev_content?: Record<string, unknown> | null;
  prev_sender?: string | null;
  replaces_state?: string | null;
  /** The sending device and its transaction ID, for unsigned.transaction_id. */
  txn_device?: string | null;
  txn_id?: string | null;
}

/** What clients see (/sync, /messages, /event...). */
export interface ClientEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  room_id?: string;
  state_key?: string;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export const isState = (pdu: Pick<Pdu, 'state_key'>): boolean => pdu.state_key !== undefined;

/** Key of a state entry. */
export const stateKey = (type: string, key: string): string => `${type}\u0000${key}`;
