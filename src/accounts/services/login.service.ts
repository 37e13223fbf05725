import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import type { Requester } from '../auth/requester.js';
import type { ChangePasswordDto, LoginDto, RegisterDto } from '../dto/login.dto.js';
import { AccountType } from '../repositories/account.repository.js';
import { AccountsService, type ClientInfo, type Session } from './accounts.service.js';
import { UiaService, type UiaAuth } from './uia.service.js';

/** The client-facing flows: /login, /register and /account/password. */
@Injectable()
export class LoginService {
  constructor(
    private readonly config: AppConfig,
    private readonly accounts: AccountsService,
    private readonly uia: UiaService,
  ) {}

  async login(body: LoginDto, client: ClientInfo): Promise<Session> {
    if (body.type !== 'm.login.password') {
      throw new MatrixError('M_UNKNOWN', `Unsupported login type ${body.type}`, 400);
    }
    const user = this.identifierUser(body);
    if (typeof body.password !== 'string') throw M.badJson('password is required');
    const localpart = await this.accounts.checkPassword(user, body.password);
    return this.accounts.openSession(localpart, body.device_id, body.initial_device_display_name, client);
  }

  async register(body: RegisterDto, kind: string | undefined, client: ClientInfo): Promise<Partial<Session>> {
    if (!this.config.ENABLE_REGISTRATION) throw M.forbidden('Registration is disabled');
    if (kind !== undefined && kind !== 'user' && kind !== 'guest')
      throw M.invalidParam('kind must be user or guest');
    if (kind === 'guest') {
      const localpart = await this.createGuest();
      return this.accounts.openSession(localpart, body.device_id, body.initial_device_display_name, client);
    }
    // Validate before the UIA round trip so the client learns about a bad name at once.
    // The spec lets a client leave the username out; the server then picks one.
    const localpart =
      body.username === undefined || body.username === null
        ? this.accounts.generateLocalpart()
        : this.accounts.normalizeLocalpart(body.username);
    const password = this.accounts.validatePassword(body.password);
    if (!(await this.accounts.isAvailable(localpart))) throw M.userInUse();
    await this.uia.require(body.auth as UiaAuth | undefined, 'm.login.dummy', async () => true);
    const user = await this.accounts.createAccount({ localpart, password, accountType: AccountType.User });
    if (body.inhibit_login) return { user_id: user, home_server: this.config.SERVER_NAME };
    return this.accounts.openSession(localpart, body.device_id, body.initial_device_display_name, client);
  }

  /** Guests get the next free number; two guests registering at once race for it, so the loser takes the next. */
  private async createGuest(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const localpart = await this.accounts.nextGuestLocalpart();
      try {
        await this.accounts.createAccount({ localpart, password: null, accountType: AccountType.Guest });
        return localpart;
      } catch (err) {
        if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE') || attempt >= 10) throw err;
      }
    }
  }

  async changePassword(requester: Requester, body: ChangePasswordDto): Promise<void> {
    this.accounts.validatePassword(body.new_password);
    await this.requirePassword(requester, body.auth);
    await this.accounts.changePassword(requester, body.new_password, body.logout_devices ?? true);
  }

  /** UIA stage m.login.password for the caller's own account (password change, device deletion). */
  async requirePassword(requester: Requester, auth: Record<string, unknown> | undefined): Promise<void> {
    await this.uia.require(auth as UiaAuth | undefined, 'm.login.password', async (a) => {
      const identifier = a.identifier as { user?: unknown } | undefined;
      const user =
        typeof identifier?.user === 'string'
          ? identifier.user
          : typeof a.user === 'string'
            ? a.user
            : undefined;
      // The identifier names the caller as at login: localpart or user ID, any case.
      const named = user?.toLowerCase();
      if (named !== undefined && named !== requester.localpart && named !== requester.userId.toLowerCase())
        return false;
      return typeof a.password === 'string' && this.accounts.verifyPassword(requester.localpart, a.password);
    });
  }

  private identifierUser(body: LoginDto): string {
    if (body.identifier) {
      if (body.identifier.type !== 'm.id.user') {
        throw new MatrixError('M_UNKNOWN', `Unsupported identifier type ${body.identifier.type}`, 400);
      }
      if (!body.identifier.user) throw M.badJson('identifier.user is required');
      return body.identifier.user;
    }
    if (body.user) return body.user;
    throw M.badJson('identifier or user is required');
  }
}
