import { M } from '../errors/matrix-error.js';

const MAX_SAFE = 2 ** 53 - 1;

/** Code-point order (not UTF-16 order, which differs for astral characters). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function sortKeys(keys: string[]): string[] {
  // Plain sort is right unless a key holds a surrogate pair; only then pay for the slow comparison.
  const astral = keys.some((k) => /[\uD800-\uDFFF]/.test(k));
  return astral ? keys.sort(compareCodePoints) : keys.sort();
}

function encode(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      // JSON.stringify writes non-ASCII raw and escapes exactly what canonical JSON requires.
      return JSON.stringify(value);
    case 'number':
      if (!Number.isInteger(value) || Math.abs(value) > MAX_SAFE) {
        throw M.badJson(`canonical JSON allows only integers within ±(2^53-1), got ${value}`);
      }
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(encode).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of sortKeys(Object.keys(obj))) {
        if (obj[key] === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${encode(obj[key])}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw M.badJson(`cannot encode ${typeof value} as canonical JSON`);
  }
}

/** Matrix canonical JSON (appendix: sorted keys, no whitespace, raw UTF-8, integers only). */
export function canonicalJson(value: unknown): string {
  return encode(value);
}

/** True when the value is representable in canonical JSON (used to validate client content). */
export function isCanonicalizable(value: unknown): boolean {
  try {
    encode(value);
    return true;
  } catch {
    return false;
  }
}
