import { isIP } from 'node:net';

/** Where and how to reach a server: the connection URL, the Host header and the TLS name. */
export interface ResolvedServer {
  /** `https://host:port` (or the configured `http://...` for FEDERATION_DESTINATIONS). */
  baseUrl: string;
  hostHeader: string;
  /** The name the certificate must be valid for (SNI); absent for IP literals and plain http. */
  tlsServerName?: string;
}

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/** The lookups server discovery needs, injected so the algorithm is testable without a network. */
export interface DiscoveryLookups {
  overrides: Record<string, string>;
  /** The `m.server` of `https://<host>/.well-known/matrix/server`, or null when there is none. */
  wellKnown(host: string): Promise<string | null>;
  /** SRV records of a name ([] when there are none). */
  srv(name: string): Promise<SrvRecord[]>;
}

export interface Resolution {
  server: ResolvedServer;
  /** How long the answer may be cached: long after a definite answer, short after lookup failures. */
  cacheMs: number;
}

const DEFAULT_PORT = 8448;
const HOUR = 3600_000;
const SERVER_NAME_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}))?$/;

/** Splits `host[:port]` (IPv6 literals in brackets); null when it is not a server name. */
export function splitServerName(name: string): { host: string; port: number | null } | null {
  const m = SERVER_NAME_RE.exec(name);
  if (!m) return null;
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host: m[1], port };
}

export const isValidServerName = (name: unknown): name is string =>
  typeof name === 'string' && name.length <= 255 && splitServerName(name) !== null;

const bare = (host: string) => host.replace(/^\[|\]$/g, '');
const isIpLiteral = (host: string) => isIP(bare(host)) !== 0;

function direct(host: string, port: number, hostHeader: string, tlsName?: string): ResolvedServer {
  return {
    baseUrl: `https://${host}:${port}`,
    hostHeader,
    ...(tlsName && !isIpLiteral(tlsName) ? { tlsServerName: tlsName } : {}),
  };
}

function pickSrv(records: SrvRecord[]): SrvRecord | null {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.');
  if (usable.length === 0) return null;
  return usable.sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
}

async function viaSrv(
  host: string,
  lookups: DiscoveryLookups,
): Promise<{ record: SrvRecord | null; failed: boolean }> {
  let failed = false;
  for (const prefix of ['_matrix-fed._tcp', '_matrix._tcp']) {
    try {
      const record = pickSrv(await lookups.srv(`${prefix}.${host}`));
      if (record) return { record, failed };
    } catch {
      failed = true;
    }
  }
  return { record: null, failed };
}

/**
 * Server discovery as the spec orders it: the FEDERATION_DESTINATIONS override, then IP literal,
 * explicit port, `/.well-known/matrix/server` (whose delegate is resolved the same way, SRV
 * included), SRV `_matrix-fed._tcp` (then the deprecated `_matrix._tcp`), and finally port 8448.
 * The Host header and certificate name stay the name before SRV, as the spec requires.
 */
export async function resolveServer(serverName: string, lookups: DiscoveryLookups): Promise<Resolution> {
  const override = lookups.overrides[serverName];
  if (override) {
    const url = new URL(override);
    return {
      server: {
        baseUrl: `${url.protocol}//${url.host}`,
        hostHeader: url.host,
        ...(url.protocol === 'https:' && !isIpLiteral(url.hostname) ? { tlsServerName: url.hostname } : {}),
      },
      cacheMs: Infinity,
    };
  }
  const parsed = splitServerName(serverName);
  if (!parsed) throw new Error(`${serverName} is not a server name`);
  const { host, port } = parsed;
  const day = 24 * HOUR;
  if (isIpLiteral(host)) return { server: direct(host, port ?? DEFAULT_PORT, serverName), cacheMs: day };
  if (port !== null) return { server: direct(host, port, serverName, host), cacheMs: day };

  let delegated: string | null = null;
  let wellKnownFailed = false;
  try {
    delegated = await lookups.wellKnown(host);
  } catch {
    wellKnownFailed = true;
  }
  if (delegated !== null) {
    const d = splitServerName(delegated);
    if (d) {
      if (isIpLiteral(d.host))
        return { server: direct(d.host, d.port ?? DEFAULT_PORT, delegated), cacheMs: day };
      if (d.port !== null) return { server: direct(d.host, d.port, delegated, d.host), cacheMs: day };
      const { record } = await viaSrv(d.host, lookups);
      if (record) return { server: direct(record.name, record.port, d.host, d.host), cacheMs: day };
      return { server: direct(d.host, DEFAULT_PORT, d.host, d.host), cacheMs: day };
    }
  }
  const { record, failed } = await viaSrv(host, lookups);
  const cacheMs = wellKnownFailed || failed ? HOUR : day;
  if (record) return { server: direct(record.name, record.port, host, host), cacheMs };
  return { server: direct(host, DEFAULT_PORT, host, host), cacheMs };
}
