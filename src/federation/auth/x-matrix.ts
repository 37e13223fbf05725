import { canonicalJson } from '../../common/crypto/canonical-json.js';
import { verifyJsonSignature, type SigningKey } from '../../common/crypto/signing-key.js';

/** The parameters of an `Authorization: X-Matrix ...` header. */
export interface XMatrixAuth {
  origin: string;
  destination?: string;
  key: string;
  sig: string;
}

/** What a federation request signature covers. */
export interface SignedRequest {
  method: string;
  /** The raw path with its query string, exactly as sent. */
  uri: string;
  origin: string;
  destination: string;
  /** The parsed JSON body; absent when the request has none. */
  content?: unknown;
}

/** The JSON object that is signed; `content` is left out when there is no body. */
export function requestJson(req: SignedRequest): Record<string, unknown> {
  const json: Record<string, unknown> = {
    method: req.method.toUpperCase(),
    uri: req.uri,
    origin: req.origin,
    destination: req.destination,
  };
  if (req.content !== undefined) json.content = req.content;
  return json;
}

/** Signs an outgoing request; returns the Authorization header value. */
export function signRequest(key: SigningKey, req: SignedRequest): string {
  const sig = key.signBytes(canonicalJson(requestJson(req)));
  return formatXMatrix({ origin: req.origin, destination: req.destination, key: key.keyId, sig });
}

/** Checks an incoming request's signature with the origin's public key. */
export function verifyRequestSignature(
  req: SignedRequest,
  auth: XMatrixAuth,
  publicKeyBase64: string,
): boolean {
  const signed = { ...requestJson(req), signatures: { [auth.origin]: { [auth.key]: auth.sig } } };
  return verifyJsonSignature(signed, auth.origin, auth.key, publicKeyBase64);
}

export function formatXMatrix(auth: XMatrixAuth): string {
  const parts = [`origin="${quote(auth.origin)}"`];
  if (auth.destination !== undefined) parts.push(`destination="${quote(auth.destination)}"`);
  parts.push(`key="${quote(auth.key)}"`, `sig="${quote(auth.sig)}"`);
  return `X-Matrix ${parts.join(',')}`;
}

/**
 * Parses an X-Matrix header as the spec allows it: parameter names case-insensitive and in any
 * order, values quoted (with backslash escapes) or bare (bare values may contain ':'), unknown
 * parameters ignored. Returns null when it is not X-Matrix or misses origin, key or sig.
 */
export function parseXMatrix(header: string | undefined): XMatrixAuth | null {
  if (!header) return null;
  const m = /^\s*X-Matrix\s+(.*)$/is.exec(header);
  if (!m) return null;
  const params = new Map<string, string>();
  const s = m[1];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) return null;
    const name = s.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (s[i] === ' ' || s[i] === '\t') i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i++];
      }
      if (s[i] !== '"') return null;
      i++;
    } else {
      const end = s.indexOf(',', i);
      value = (end < 0 ? s.slice(i) : s.slice(i, end)).trim();
      i = end < 0 ? s.length : end;
    }
    if (!params.has(name)) params.set(name, value);
  }
  const origin = params.get('origin');
  const key = params.get('key');
  const sig = params.get('sig') ?? params.get('signature');
  if (!origin || !key || !sig) return null;
  const destination = params.get('destination');
  return { origin, key, sig, ...(destination !== undefined ? { destination } : {}) };
}

function quote(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
