import {
  resolveServer,
  splitServerName,
  type DiscoveryLookups,
  type SrvRecord,
} from './server-resolution.js';

function lookups(opts: {
  overrides?: Record<string, string>;
  wellKnown?: Record<string, string | Error>;
  srv?: Record<string, SrvRecord[]>;
}): DiscoveryLookups & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    overrides: opts.overrides ?? {},
    wellKnown: async (host) => {
      asked.push(`well-known ${host}`);
      const v = opts.wellKnown?.[host];
      if (v instanceof Error) throw v;
      return v ?? null;
    },
    srv: async (name) => {
      asked.push(`srv ${name}`);
      return opts.srv?.[name] ?? [];
    },
  };
}

const srv = (name: string, port: number, priority = 10, weight = 5): SrvRecord => ({
  name,
  port,
  priority,
  weight,
});

describe('server discovery', () => {
  it('uses FEDERATION_DESTINATIONS before anything else', async () => {
    const l = lookups({ overrides: { 'hs2.test': 'http://127.0.0.1:9999/' } });
    const r = await resolveServer('hs2.test', l);
    expect(r.server).toEqual({ baseUrl: 'http://127.0.0.1:9999', hostHeader: '127.0.0.1:9999' });
    expect(l.asked).toEqual([]);
  });

  it('takes an IP literal as is, with 8448 by default', async () => {
    expect((await resolveServer('1.2.3.4', lookups({}))).server).toEqual({
      baseUrl: 'https://1.2.3.4:8448',
      hostHeader: '1.2.3.4',
    });
    expect((await resolveServer('[::1]:8000', lookups({}))).server).toEqual({
      baseUrl: 'https://[::1]:8000',
      hostHeader: '[::1]:8000',
    });
  });

  it('connects straight to an explicit port without lookups', async () => {
    const l = lookups({});
    expect((await resolveServer('example.org:1234', l)).server).toEqual({
      baseUrl: 'https://example.org:1234',
      hostHeader: 'example.org:1234',
      tlsServerName: 'example.org',
    });
    expect(l.asked).toEqual([]);
  });

  it('follows .well-known delegation, resolving the delegate with SRV', async () => {
    const l = lookups({
      wellKnown: { 'example.org': 'matrix.example.org' },
      srv: { '_matrix-fed._tcp.matrix.example.org': [srv('fed.example.net', 443)] },
    });
    expect((await resolveServer('example.org', l)).server).toEqual({
      baseUrl: 'https://fed.example.net:443',
      hostHeader: 'matrix.example.org',
      tlsServerName: 'matrix.example.org',
    });
  });

  it('uses the delegate port when well-known gives one', async () => {
    const l = lookups({ wellKnown: { 'example.org': 'matrix.example.org:443' } });
    expect((await resolveServer('example.org', l)).server).toEqual({
      baseUrl: 'https://matrix.example.org:443',
      hostHeader: 'matrix.example.org:443',
      tlsServerName: 'matrix.example.org',
    });
  });

  it('falls back to SRV of the server name, preferring the lowest priority, then _matrix._tcp', async () => {
    const l = lookups({
      srv: { '_matrix-fed._tcp.example.org': [srv('b.example.org', 2, 20), srv('a.example.org', 1, 10)] },
    });
    expect((await resolveServer('example.org', l)).server.baseUrl).toBe('https://a.example.org:1');
    const old = lookups({ srv: { '_matrix._tcp.example.org': [srv('old.example.org', 8449)] } });
    expect((await resolveServer('example.org', old)).server).toEqual({
      baseUrl: 'https://old.example.org:8449',
      hostHeader: 'example.org',
      tlsServerName: 'example.org',
    });
  });

  it('ends at port 8448, cached briefly when well-known failed', async () => {
    const r = await resolveServer(
      'example.org',
      lookups({ wellKnown: { 'example.org': new Error('timeout') } }),
    );
    expect(r.server.baseUrl).toBe('https://example.org:8448');
    expect(r.cacheMs).toBe(3600_000);
  });

  it('parses server names', () => {
    expect(splitServerName('example.org:8448')).toEqual({ host: 'example.org', port: 8448 });
    expect(splitServerName('[::1]')).toEqual({ host: '[::1]', port: null });
    expect(splitServerName('bad name')).toBeNull();
    expect(splitServerName('example.org:99999')).toBeNull();
  });
});
