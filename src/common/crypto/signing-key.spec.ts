import { decodeBase64, encodeBase64, encodeBase64Url } from './base64.js';
import { SigningKey, verifyJsonSignature } from './signing-key.js';

// The spec's signing test vectors (appendices, "Signing JSON").
const SEED = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
const key = new SigningKey('ed25519:1', SEED);

describe('unpadded base64', () => {
  it.each([
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ])('%j → %j', (plain, encoded) => {
    expect(encodeBase64(Buffer.from(plain))).toBe(encoded);
    expect(decodeBase64(encoded).toString()).toBe(plain);
  });

  it('url-safe form uses -_ and no padding', () => {
    expect(encodeBase64Url(Buffer.from([0xfb, 0xff]))).toBe('-_8');
  });
});

describe('SigningKey', () => {
  it('derives the public key of the spec seed', () => {
    expect(key.publicKeyBase64).toBe('XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI');
  });

  it('signs {} as the spec says', () => {
    expect(key.signJson('domain', {})).toEqual({
      signatures: {
        domain: {
          'ed25519:1':
            'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ',
        },
      },
    });
  });

  it('signs {"one":1,"two":"Two"} as the spec says, and the signature verifies', () => {
    const signed = key.signJson('domain', { one: 1, two: 'Two' });
    expect(signed.signatures.domain['ed25519:1']).toBe(
      'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw',
    );
    expect(verifyJsonSignature(signed, 'domain', 'ed25519:1', key.publicKeyBase64)).toBe(true);
    expect(verifyJsonSignature({ ...signed, two: 'three' }, 'domain', 'ed25519:1', key.publicKeyBase64)).toBe(
      false,
    );
  });

  it('leaves unsigned out of the signature and keeps it', () => {
    const signed = key.signJson('domain', { one: 1, two: 'Two', unsigned: { age: 5 } });
    expect(signed.unsigned).toEqual({ age: 5 });
    expect(signed.signatures.domain['ed25519:1']).toBe(
      'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw',
    );
  });
});
