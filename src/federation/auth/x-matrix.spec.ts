import { decodeBase64 } from '../../common/crypto/base64.js';
import { SigningKey, verifyJsonSignature } from '../../common/crypto/signing-key.js';
import {
  formatXMatrix,
  parseXMatrix,
  signRequest,
  verifyRequestSignature,
  type SignedRequest,
} from './x-matrix.js';

// The spec's signing seed (appendices) with server "domain" and key ed25519:1.
const key = new SigningKey('ed25519:1', decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1'));
const PUBLIC = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';

describe('X-Matrix request signing', () => {
  const request: SignedRequest = {
    method: 'GET',
    uri: '/_matrix/federation/v1/user/devices/%40alice%3Aremote.example',
    origin: 'domain',
    destination: 'remote.example',
  };

  it('signs the derived vector of matrix-spec.md §3', () => {
    const header = signRequest(key, request);
    expect(parseXMatrix(header)).toEqual({
      origin: 'domain',
      destination: 'remote.example',
      key: 'ed25519:1',
      sig: '9wvTC3zTan68GPIWEkOOS7OUPXzfd/o+NViLu94SPOW3tRNHC+Y/qcz+67BPZFQn8rmNZdFKrkDgVZ9D91DQAA',
    });
  });

  it('round-trips: sign, verify; a tampered request or another destination is refused', () => {
    const withBody: SignedRequest = {
      method: 'POST',
      uri: '/_matrix/federation/v1/user/keys/query',
      origin: 'domain',
      destination: 'remote.example',
      content: { device_keys: { '@alice:remote.example': [] } },
    };
    const auth = parseXMatrix(signRequest(key, withBody))!;
    expect(verifyRequestSignature(withBody, auth, PUBLIC)).toBe(true);
    expect(verifyRequestSignature({ ...withBody, content: { device_keys: {} } }, auth, PUBLIC)).toBe(false);
    expect(verifyRequestSignature({ ...withBody, uri: `${withBody.uri}?x=1` }, auth, PUBLIC)).toBe(false);
    expect(verifyRequestSignature({ ...withBody, method: 'PUT' }, auth, PUBLIC)).toBe(false);
    expect(verifyRequestSignature({ ...withBody, destination: 'other.example' }, auth, PUBLIC)).toBe(false);
    expect(verifyRequestSignature({ ...withBody, content: undefined }, auth, PUBLIC)).toBe(false);
    const forged = { ...auth, sig: auth.sig.replace(/^./, auth.sig[0] === 'A' ? 'B' : 'A') };
    expect(verifyRequestSignature(withBody, forged, PUBLIC)).toBe(false);
  });

  it('parses headers as the spec allows them', () => {
    expect(
      parseXMatrix(
        'x-matrix  Sig="a\\"b" , KEY=ed25519:1,origin=origin.hs:8448,destination="dest.hs",extra="x"',
      ),
    ).toEqual({ origin: 'origin.hs:8448', destination: 'dest.hs', key: 'ed25519:1', sig: 'a"b' });
    expect(parseXMatrix('X-Matrix origin="o",key="ed25519:1",sig="s"')).toEqual({
      origin: 'o',
      key: 'ed25519:1',
      sig: 's',
    });
    expect(parseXMatrix('Bearer abc')).toBeNull();
    expect(parseXMatrix('X-Matrix origin="o",key="ed25519:1"')).toBeNull();
    expect(parseXMatrix('X-Matrix origin="unterminated')).toBeNull();
    expect(parseXMatrix(undefined)).toBeNull();
  });

  it('formats what it parses', () => {
    const auth = { origin: 'a.example', destination: 'b.example', key: 'ed25519:k', sig: 'x\\y"z' };
    expect(parseXMatrix(formatXMatrix(auth))).toEqual(auth);
  });
});

describe('key server response signing', () => {
  it('signs the derived key response of matrix-spec.md §3', () => {
    const signed = key.signJson('domain', {
      old_verify_keys: {},
      server_name: 'domain',
      valid_until_ts: 1700000000000,
      verify_keys: { 'ed25519:1': { key: PUBLIC } },
    });
    expect(signed.signatures.domain['ed25519:1']).toBe(
      'ewq/uPhfAzmWSa/3PRlr5Q0W59jG75Wtb6mzxIELuVRAxYMHOeMFue6fNXijZkIwLLembQ0+gl7DIkiUGcoUBg',
    );
    expect(verifyJsonSignature(signed, 'domain', 'ed25519:1', PUBLIC)).toBe(true);
  });
});
