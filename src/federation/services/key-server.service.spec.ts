import type { AppConfig } from '../../config/app-config.js';
import { decodeBase64 } from '../../common/crypto/base64.js';
import type { ServerKeyService } from '../../common/crypto/server-key.service.js';
import { SigningKey } from '../../common/crypto/signing-key.js';
import type { KeyRingService } from './key-ring.service.js';
import { KeyServerService, OWN_KEYS_VALIDITY_MS } from './key-server.service.js';

describe('KeyServerService.ownKeys', () => {
  it('produces the signed key response of matrix-spec.md §3 for the spec seed', () => {
    const key = new SigningKey('ed25519:1', decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1'));
    const serverKey = { key, sign: (o: Record<string, unknown>) => key.signJson('domain', o) };
    const service = new KeyServerService(
      { SERVER_NAME: 'domain' } as AppConfig,
      serverKey as unknown as ServerKeyService,
      {} as KeyRingService,
    );
    expect(service.ownKeys(1700000000000 - OWN_KEYS_VALIDITY_MS)).toEqual({
      old_verify_keys: {},
      server_name: 'domain',
      valid_until_ts: 1700000000000,
      verify_keys: { 'ed25519:1': { key: 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI' } },
      signatures: {
        domain: {
          'ed25519:1':
            'ewq/uPhfAzmWSa/3PRlr5Q0W59jG75Wtb6mzxIELuVRAxYMHOeMFue6fNXijZkIwLLembQ0+gl7DIkiUGcoUBg',
        },
      },
    });
  });
});
