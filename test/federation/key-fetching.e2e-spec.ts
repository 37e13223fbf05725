import { TestApp } from '../helpers/test-app.js';
import { signRequest } from '../../src/federation/auth/x-matrix.js';
import { KeyRingService } from '../../src/federation/services/key-ring.service.js';
import { FakeHomeserver } from './fake-homeserver.js';

const HS = 'hs1.test';

describe('fetching other servers’ keys', () => {
  let t: TestApp;
  let notary: FakeHomeserver;
  let hidden: FakeHomeserver;
  let rotating: FakeHomeserver;
  let expired: FakeHomeserver;

  beforeAll(async () => {
    notary = await new FakeHomeserver('notary.test').start();
    hidden = new FakeHomeserver('hidden.test');
    rotating = await new FakeHomeserver('rotating.test').start();
    expired = await new FakeHomeserver('expired.test').start();
    expired.keyValidityMs = -1000;
    t = await TestApp.start({
      SERVER_NAME: HS,
      // hidden.test cannot be reached: its keys can only come through the notary.
      FEDERATION_DESTINATIONS: JSON.stringify({
        'notary.test': notary.url,
        'hidden.test': 'http://127.0.0.1:1',
        'rotating.test': rotating.url,
        'forged.test': 'http://127.0.0.1:1',
        'expired.test': expired.url,
      }),
      FEDERATION_TRUSTED_KEY_SERVERS: 'notary.test',
    });
    notary.notaryFor.set('hidden.test', hidden.keyResponse());
  });
  afterAll(async () => {
    await t.close();
    await notary.stop();
    await rotating.stop();
    await expired.stop();
  });

  const versionUri = '/_matrix/federation/v1/user/devices/%40nobody%3Ahs1.test';

  it('accepts a request from a server whose keys only a trusted notary has', async () => {
    const res = await t.http.get(versionUri).set('Authorization', hidden.sign('GET', versionUri, HS));
    // Authenticated (404: the user does not exist), so the key came through the notary.
    expect([res.status, res.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    expect(notary.count('/_matrix/key/v2/query')).toBe(1);
    const rows = await t.sql(`SELECT key_id FROM federation_server_keys WHERE server_name = 'hidden.test'`);
    expect(rows).toEqual([{ key_id: 'ed25519:fake1' }]);
  });

  it('refuses notary answers the notary did not sign', async () => {
    const forged = new FakeHomeserver('forged.test');
    notary.notaryFor.set('forged.test', forged.keyResponse());
    notary.notarySigns = false;
    try {
      const res = await t.http.get(versionUri).set('Authorization', forged.sign('GET', versionUri, HS));
      expect([res.status, res.body.errcode]).toEqual([401, 'M_UNAUTHORIZED']);
    } finally {
      notary.notarySigns = true;
    }
    expect(await t.sql(`SELECT 1 FROM federation_server_keys WHERE server_name = 'forged.test'`)).toEqual([]);
  });

  it('refuses requests signed with a key whose validity has run out', async () => {
    const res = await t.http.get(versionUri).set('Authorization', expired.sign('GET', versionUri, HS));
    expect([res.status, res.body.errcode]).toEqual([401, 'M_UNAUTHORIZED']);
    expect(
      await t.sql(`SELECT key_id FROM federation_server_keys WHERE server_name = 'expired.test'`),
    ).toEqual([{ key_id: 'ed25519:fake1' }]);
  });

  it('caches keys, honours old keys for old signatures only, and refetches on an unknown key', async () => {
    const keyRing = t.app.get(KeyRingService);
    expect(await keyRing.currentKey('rotating.test', 'ed25519:fake1')).toBe(rotating.key.publicKeyBase64);
    const old = rotating.rotateKey('ed25519:fake2');
    const signedBefore = Date.now() - 1000;
    // ed25519:fake2 is unknown, so it is fetched; the answer also lists fake1 as old.
    expect(await keyRing.currentKey('rotating.test', 'ed25519:fake2')).toBe(rotating.key.publicKeyBase64);
    expect(await keyRing.currentKey('rotating.test', 'ed25519:fake1')).toBeNull();
    expect(await keyRing.keyAt('rotating.test', 'ed25519:fake1', signedBefore)).toBe(old.publicKeyBase64);
    expect(await keyRing.keyAt('rotating.test', 'ed25519:fake1', Date.now() + 1000)).toBeNull();

    // Requests must be signed with a current key.
    const header = signRequest(old, {
      method: 'GET',
      uri: versionUri,
      origin: 'rotating.test',
      destination: HS,
    });
    const res = await t.http.get(versionUri).set('Authorization', header);
    expect([res.status, res.body.errcode]).toEqual([401, 'M_UNAUTHORIZED']);
    const fresh = await t.http.get(versionUri).set('Authorization', rotating.sign('GET', versionUri, HS));
    expect(fresh.status).toBe(404);
  });
});
