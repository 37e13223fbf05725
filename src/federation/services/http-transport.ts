import http from 'node:http';
import https from 'node:https';
import type { ResolvedServer } from './server-resolution.js';

export interface TransportRequest {
  method: string;
  /** Path and query, e.g. `/_matrix/federation/v1/version`. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface TransportResponse {
  status: number;
  /** The parsed JSON body, or undefined when it was not JSON. */
  json: unknown;
}

/** The connection failed, timed out or the answer was too large: the server could not be talked to. */
export class TransportError extends Error {}

const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/**
 * One HTTP request to a resolved server. node:http(s) rather than fetch: federation must send the
 * server name as Host header and TLS name while connecting to an SRV target, and fetch silently
 * drops a Host header and cannot set SNI. The timeout covers the whole exchange.
 */
export function httpRequest(server: ResolvedServer, req: TransportRequest): Promise<TransportResponse> {
  const url = new URL(server.baseUrl);
  const secure = url.protocol === 'https:';
  const headers: Record<string, string> = {
    Host: server.hostHeader,
    Accept: 'application/json',
    ...req.headers,
  };
  if (req.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(req.body));
  }
  const options: https.RequestOptions = {
    method: req.method,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (secure ? 443 : 80),
    // Exactly the path that was signed: URL parsing could re-encode it.
    path: req.path,
    headers,
    ...(secure && server.tlsServerName ? { servername: server.tlsServerName } : {}),
  };
  return new Promise<TransportResponse>((resolve, reject) => {
    const request = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          request.destroy(new TransportError(`response from ${server.hostHeader} is larger than 10 MiB`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', (err) => reject(new TransportError(err.message)));
    });
    const timer = setTimeout(
      () => request.destroy(new TransportError(`no answer within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    request.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      reject(err instanceof TransportError ? err : new TransportError(code ?? err.message));
    });
    request.on('close', () => clearTimeout(timer));
    if (req.body !== undefined) request.write(req.body);
    request.end();
  });
}
