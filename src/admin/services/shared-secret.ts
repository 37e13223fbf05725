import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The shared-secret registration MAC (Synapse's and Dendrite's): hex HMAC-SHA1 keyed with the
 * secret over `nonce \0 username \0 password \0 ("admin"|"notadmin")`, the username as sent.
 */
export function registrationMac(
  secret: string,
  nonce: string,
  username: string,
  password: string,
  admin: boolean,
): string {
  return createHmac('sha1', Buffer.from(secret, 'utf8'))
    .update([nonce, username, password, admin ? 'admin' : 'notadmin'].join('\0'))
    .digest('hex');
}

/** Constant-time comparison of a client MAC (hex, either case) with the expected one. */
export function macMatches(expectedHex: string, givenHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(givenHex, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
