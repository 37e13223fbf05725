import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { M } from '../../common/errors/matrix-error.js';
import { header } from '../../common/http/header.js';
import { isCanonicalizable } from '../../common/crypto/canonical-json.js';
import { KeyRingService } from '../services/key-ring.service.js';
import { isValidServerName } from '../services/server-resolution.js';
import { parseXMatrix, verifyRequestSignature } from './x-matrix.js';

export type FederationRequest = FastifyRequest & { federationOrigin?: string };

/**
 * Verifies the X-Matrix signature of an incoming federation request: a well-formed header, our
 * name as destination (when given), a current key of the origin, and a signature over method,
 * raw URI, origin, destination and body. Anything wrong is 401 M_UNAUTHORIZED.
 */
@Injectable()
export class FederationAuthGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly keyRing: KeyRingService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FederationRequest>();
    const auth = parseXMatrix(header(req, 'authorization'));
    if (!auth) throw M.unauthorized('Missing or malformed X-Matrix Authorization header');
    if (!isValidServerName(auth.origin)) throw M.unauthorized('The X-Matrix origin is not a server name');
    if (auth.destination !== undefined && auth.destination !== this.config.SERVER_NAME) {
      throw M.unauthorized(`This request is for ${auth.destination}, not ${this.config.SERVER_NAME}`);
    }
    const key = await this.keyRing.currentKey(auth.origin, auth.key);
    if (!key) throw M.unauthorized(`No valid key ${auth.key} of ${auth.origin} could be found`);
    // The body parser turns an absent body into {}; only a body that was sent is signed.
    const hasBody =
      Number(header(req, 'content-length') ?? 0) > 0 || header(req, 'transfer-encoding') !== undefined;
    const content: unknown = hasBody ? req.body : undefined;
    if (content !== undefined && !isCanonicalizable(content))
      throw M.badJson('The body is not canonical JSON');
    const ok = verifyRequestSignature(
      {
        method: req.method,
        uri: req.url,
        origin: auth.origin,
        destination: this.config.SERVER_NAME,
        ...(content !== undefined ? { content } : {}),
      },
      auth,
      key,
    );
    if (!ok) throw M.unauthorized(`Invalid signature from ${auth.origin}`);
    req.federationOrigin = auth.origin;
    return true;
  }
}
