import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { RedisService } from '../../database/redis.service.js';
import { AccountsService } from '../../accounts/services/accounts.service.js';
import { AccountType } from '../../accounts/repositories/account.repository.js';
import { randomString } from '../../accounts/services/tokens.js';
import type { SharedSecretRegisterDto } from '../dto/shared-secret-register.dto.js';
import { macMatches, registrationMac } from './shared-secret.js';

const NONCE_TTL_S = 5 * 60;

/**
 * /_synapse/admin/v1/register. Nonces are single-use (Synapse's behaviour; Dendrite lets them be
 * reused) and live in Redis for five minutes, so any API process can check them.
 */
@Injectable()
export class SharedSecretRegistrationService {
  private readonly logger = new Logger(SharedSecretRegistrationService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly accounts: AccountsService,
  ) {}

  private requireSecret(): string {
    // Without a secret the endpoint does not exist, as in Dendrite.
    if (!this.config.REGISTRATION_SHARED_SECRET) throw M.unrecognized();
    return this.config.REGISTRATION_SHARED_SECRET;
  }

  async newNonce(): Promise<{ nonce: string }> {
    this.requireSecret();
    const nonce = randomString(32);
    await this.redis.client.set(`register-nonce:${nonce}`, '1', 'EX', NONCE_TTL_S);
    return { nonce };
  }

  async register(body: SharedSecretRegisterDto) {
    const secret = this.requireSecret();
    const password = body.password ?? '';
    if (body.username.includes('\0')) throw M.badJson('username contains invalid character');
    if (password.includes('\0')) throw M.badJson('password contains invalid character');
    // GETDEL consumes the nonce whatever happens next: a wrong MAC costs the caller its nonce.
    const known = await this.redis.client.getdel(`register-nonce:${body.nonce}`);
    if (!known) throw new MatrixError('M_UNKNOWN', 'Unrecognised or expired nonce', 400);
    const expected = registrationMac(secret, body.nonce, body.username, password, body.admin === true);
    if (!macMatches(expected, body.mac)) throw M.forbidden('bad mac');

    const localpart = this.accounts.normalizeLocalpart(body.username);
    this.accounts.validatePassword(password);
    const userId = await this.accounts.createAccount({
      localpart,
      password,
      accountType: body.admin ? AccountType.Admin : AccountType.User,
      displayName: body.displayname || localpart,
    });
    this.logger.log(`Registered ${userId}${body.admin ? ' (admin)' : ''} with the shared secret`);
    return this.accounts.openSession(localpart, 'shared_secret_registration', body.username, {
      ip: null,
      userAgent: null,
    });
  }
}
