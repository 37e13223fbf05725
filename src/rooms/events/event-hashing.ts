import { createHash } from 'node:crypto';
import { canonicalJson } from '../../common/crypto/canonical-json.js';
import { encodeBase64, encodeBase64Url } from '../../common/crypto/base64.js';
import type { SigningKey } from '../../common/crypto/signing-key.js';
import type { Pdu } from './pdu.js';
import { redact } from './redaction.js';
import type { RoomVersion } from './room-versions.js';

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** sha256 over the event without unsigned, signatures and hashes. */
export function contentHash(event: Record<string, unknown>): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event;
  return encodeBase64(sha256(canonicalJson(rest)));
}

/** Event ID (v4+): "$" + URL-safe base64 of the reference hash of the redacted event. */
export function eventIdOf(event: Record<string, unknown>, version: RoomVersion): string {
  const { signatures: _s, unsigned: _u, ...rest } = redact(event, version);
  return '$' + encodeBase64Url(sha256(canonicalJson(rest)));
}

/**
 * Completes an unsigned PDU: content hash, then the signature over its redacted form (so the
 * signature survives redaction), then the event ID.
 */
export function hashAndSign(
  unsignedPdu: Omit<Pdu, 'hashes' | 'signatures'>,
  version: RoomVersion,
  serverName: string,
  key: SigningKey,
): { pdu: Pdu; eventId: string } {
  const withHash = {
    ...unsignedPdu,
    hashes: { sha256: contentHash(unsignedPdu as Record<string, unknown>) },
  };
  // The signature and the reference hash (the event ID) cover the same bytes: the canonical JSON
  // of the redacted event without signatures and unsigned.
  const { unsigned: _u, ...redacted } = redact(withHash as Record<string, unknown>, version);
  const signed = canonicalJson(redacted);
  const signatures = { [serverName]: { [key.keyId]: key.signBytes(signed) } };
  const pdu = { ...withHash, signatures } as Pdu;
  return { pdu, eventId: '$' + encodeBase64Url(sha256(signed)) };
}
