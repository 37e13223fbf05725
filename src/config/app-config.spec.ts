import { ConfigError, buildConfig } from './app-config.js';

describe('buildConfig', () => {
  it('gives the contract defaults for an empty environment', () => {
    const c = buildConfig({});
    expect(c).toMatchObject({
      SERVER_NAME: 'localhost',
      BIND_ADDRESS: '127.0.0.1',
      PORT: 8008,
      PUBLIC_BASEURL: 'http://localhost:8008',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/lattice',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'lattice',
      ROLE: 'all',
      ENABLE_REGISTRATION: false,
      SERVER_NOTICES_ENABLED: true,
      SERVER_NOTICES_LOCALPART: '_server',
      SERVER_NOTICES_DISPLAY_NAME: 'Server Alert',
      SERVER_NOTICES_ROOM_NAME: 'Server Alert',
      SEARCH_LANGUAGE: 'english',
      SIGNING_KEY_PATH: './data/signing.key',
      LOG_LEVEL: 'info',
    });
    expect(c.REGISTRATION_SHARED_SECRET).toBeUndefined();
    expect(c.SERVER_NOTICES_AVATAR_URL).toBeUndefined();
    expect(c.federationDestinations).toEqual({});
    expect(c.runsHttp && c.runsWorkers).toBe(true);
  });

  it('parses typed values', () => {
    const c = buildConfig({
      PORT: '9000',
      ENABLE_REGISTRATION: 'true',
      ROLE: 'worker',
      FEDERATION_DESTINATIONS: '{"hs2.test":"http://127.0.0.1:8009"}',
    });
    expect(c.PORT).toBe(9000);
    expect(c.ENABLE_REGISTRATION).toBe(true);
    expect(c.runsHttp).toBe(false);
    expect(c.runsWorkers).toBe(true);
    expect(c.federationDestinations).toEqual({ 'hs2.test': 'http://127.0.0.1:8009' });
  });

  it('reports every invalid setting by name', () => {
    let error: unknown;
    try {
      buildConfig({
        PORT: 'eighty',
        ROLE: 'boss',
        ENABLE_REGISTRATION: 'maybe',
        FEDERATION_DESTINATIONS: '[1]',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'ROLE', 'ENABLE_REGISTRATION', 'FEDERATION_DESTINATIONS'])
      expect(message).toContain(name);
  });
});
