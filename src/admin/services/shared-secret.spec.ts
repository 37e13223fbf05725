import { macMatches, registrationMac } from './shared-secret.js';

// Dendrite's TestSharedSecretRegister vectors (dendrite-admin.md §2).
const SECRET = 'dendritetest';
const NONCE =
  '759f047f312b99ff428b21d581256f8592b8976e58bc1b543972dc6147e529a79657605b52d7becd160ff5137f3de11975684319187e06901955f79e5a6c5a79';

describe('registrationMac', () => {
  it('matches the published vector for a normal user', () => {
    expect(registrationMac(SECRET, NONCE, 'alice', 'wonderland', false)).toBe(
      'f1ba8d37123866fd659b40de4bad9b0f8965c565',
    );
  });

  it('matches the published vector for an admin', () => {
    expect(registrationMac(SECRET, NONCE, 'alice', 'wonderland', true)).toBe(
      '24dca3bba410e43fe64b9b5c28306693bf3baa9f',
    );
  });

  it('accepts the MAC in upper case and refuses a changed byte', () => {
    const mac = registrationMac(SECRET, NONCE, 'alice', 'wonderland', false);
    expect(macMatches(mac, mac.toUpperCase())).toBe(true);
    expect(macMatches(mac, 'ff' + mac.slice(2))).toBe(false);
    expect(macMatches(mac, mac.slice(2))).toBe(false);
  });
});
