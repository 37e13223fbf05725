/** Unpadded standard base64, as Matrix uses for keys, signatures and hashes. */
export function encodeBase64(buf: Uint8Array): string {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '');
}

/** URL-safe unpadded base64, as used for event IDs (room v4+). */
export function encodeBase64Url(buf: Uint8Array): string {
  return Buffer.from(buf).toString('base64url');
}

/** Accepts standard or URL-safe alphabets, padded or not. */
export function decodeBase64(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
