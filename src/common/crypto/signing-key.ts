import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { decodeBase64, encodeBase64 } from './base64.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type Signatures = Record<string, Record<string, string>>;

/** An ed25519 key with its Matrix key ID (`ed25519:<version>`). */
export class SigningKey {
  readonly publicKeyBase64: string;
  private readonly privateKey: KeyObject;

  constructor(
    readonly keyId: string,
    seed: Buffer,
  ) {
    if (seed.length !== 32) throw new Error('an ed25519 seed is 32 bytes');
    this.privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const spki = createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' });
    this.publicKeyBase64 = encodeBase64(spki.subarray(SPKI_ED25519_PREFIX.length));
  }

  signBytes(data: string | Buffer): string {
    return encodeBase64(sign(null, Buffer.from(data), this.privateKey));
  }

  /** Signs a JSON object as the spec says: without `signatures` and `unsigned`, merged back afterwards. */
  signJson<T extends Record<string, unknown>>(entity: string, obj: T): T & { signatures: Signatures } {
    const { signatures, unsigned, ...rest } = obj as Record<string, unknown>;
    const sig = this.signBytes(canonicalJson(rest));
    const merged: Signatures = { ...((signatures as Signatures | undefined) ?? {}) };
    merged[entity] = { ...(merged[entity] ?? {}), [this.keyId]: sig };
    const out: Record<string, unknown> = { ...rest, signatures: merged };
    if (unsigned !== undefined) out.unsigned = unsigned;
    return out as T & { signatures: Signatures };
  }
}

export function publicKeyFromBase64(key: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, decodeBase64(key)]),
    format: 'der',
    type: 'spki',
  });
}

/** Verifies `signatures[entity][keyId]` over the canonical form of obj without `signatures`/`unsigned`. */
export function verifyJsonSignature(
  obj: Record<string, unknown>,
  entity: string,
  keyId: string,
  publicKeyBase64: string,
): boolean {
  const sig = (obj.signatures as Signatures | undefined)?.[entity]?.[keyId];
  if (typeof sig !== 'string') return false;
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  try {
    return verify(
      null,
      Buffer.from(canonicalJson(rest)),
      publicKeyFromBase64(publicKeyBase64),
      decodeBase64(sig),
    );
  } catch {
    return false;
  }
}
