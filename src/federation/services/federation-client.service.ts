import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { ServerKeyService } from '../../common/crypto/server-key.service.js';
import { signRequest } from '../auth/x-matrix.js';
import { TransportError, httpRequest } from './http-transport.js';
import { ServerDiscoveryService } from './server-discovery.service.js';

/** A remote server could not be reached, or answered with an error. */
export class RemoteServerError extends Error {
  constructor(
    readonly server: string,
    /** The HTTP status the remote answered, or null when it could not be reached at all. */
    readonly status: number | null,
    message: string,
    readonly remoteErrcode?: string,
  ) {
    super(message);
    this.name = 'RemoteServerError';
  }

  /** Shape of a `failures[server]` entry in /keys/query and /keys/claim. */
  toFailure(): Record<string, unknown> {
    return this.status === null
      ? { status: 503, message: this.message }
      : {
          status: this.status,
          message: this.message,
          ...(this.remoteErrcode ? { errcode: this.remoteErrcode } : {}),
        };
  }
}

export interface FederationRequestOptions {
  body?: unknown;
  timeoutMs?: number;
  /** Key-server requests are not signed; everything under /_matrix/federation is. */
  signed?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Outgoing federation requests: discovery, X-Matrix signing, timeouts, and one error type for every failure. */
@Injectable()
export class FederationClient {
  private readonly logger = new Logger(FederationClient.name);

  constructor(
    private readonly config: AppConfig,
    private readonly serverKey: ServerKeyService,
    private readonly discovery: ServerDiscoveryService,
  ) {}

  /** Sends a request to `destination` and returns its JSON answer; RemoteServerError on any failure. */
  async request<T>(
    destination: string,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    options: FederationRequestOptions = {},
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (options.signed !== false) {
      headers.Authorization = signRequest(this.serverKey.key, {
        method,
        uri: path,
        origin: this.config.SERVER_NAME,
        destination,
        ...(options.body !== undefined ? { content: options.body } : {}),
      });
    }
    let res;
    try {
      const server = await this.discovery.resolve(destination);
      res = await httpRequest(server, {
        method,
        path,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      });
    } catch (err) {
      const reason = err instanceof TransportError ? err.message : String((err as Error).message ?? err);
      this.logger.warn(`${method} ${path} to ${destination} failed: ${reason}`);
      throw new RemoteServerError(destination, null, `${destination} is unreachable: ${reason}`);
    }
    if (res.status < 200 || res.status >= 300) {
      const body = res.json as { errcode?: unknown; error?: unknown } | undefined;
      const errcode = typeof body?.errcode === 'string' ? body.errcode : undefined;
      const detail = typeof body?.error === 'string' ? `: ${body.error}` : '';
      throw new RemoteServerError(
        destination,
        res.status,
        `${destination} refused ${method} ${path.split('?')[0]} with ${res.status}${errcode ? ` ${errcode}` : ''}${detail}`,
        errcode,
      );
    }
    if (res.json === undefined || res.json === null || typeof res.json !== 'object') {
      throw new RemoteServerError(
        destination,
        res.status,
        `${destination} answered ${path} with a non-JSON body`,
      );
    }
    return res.json as T;
  }
}
