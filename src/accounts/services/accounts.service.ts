import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { LOCALPART_RE, parseUserId, requireLocalUserId, userId } from '../../common/matrix/ids.js';
import { SqlService } from '../../database/sql.service.js';
import { DevicesChangedEvent, type DevicesChanged } from '../accounts.events.js';
import type { Requester } from '../auth/requester.js';
import { AccountRepository, AccountType } from '../repositories/account.repository.js';
import { DeviceRepository } from '../repositories/device.repository.js';
import { AccessTokenCache } from './access-token-cache.service.js';
import { PasswordHasher } from './password-hasher.service.js';
import { hashToken, newAccessToken, newDeviceId, randomString } from './tokens.js';

export interface Session {
  user_id: string;
  access_token: string;
  device_id: string;
  home_server: string;
}

export interface NewAccount {
  localpart: string;
  password: string | null;
  accountType: AccountType;
  displayName?: string | null;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** Accounts: creation, sign-in, sessions and passwords. The module's exported facade. */
@Injectable()
export class AccountsService {
  constructor(
    private readonly config: AppConfig,
    private readonly sql: SqlService,
    private readonly accounts: AccountRepository,
    private readonly devices: DeviceRepository,
    private readonly hasher: PasswordHasher,
    private readonly tokens: AccessTokenCache,
    private readonly events: EventEmitter2,
  ) {}

  get serverName(): string {
    return this.config.SERVER_NAME;
  }

  /** Lowercases and checks a requested localpart (M_INVALID_USERNAME / M_BAD_JSON as Dendrite answers). */
  normalizeLocalpart(username: unknown): string {
    if (typeof username !== 'string' || username === '')
      throw M.invalidUsername('Username must not be empty');
    const localpart = username.toLowerCase();
    if (!LOCALPART_RE.test(localpart)) {
      throw M.invalidUsername('Username can only contain characters a-z, 0-9, or any of ._=-/+');
    }
    if (localpart.startsWith('_')) throw M.invalidUsername('Username cannot start with _ (reserved)');
    // All-digit localparts are what guests get (and what Dendrite's migration marks as guests).
    if (/^[0-9]+$/.test(localpart)) throw M.invalidUsername('Username cannot be entirely numeric');
    if (Buffer.byteLength(userId(localpart, this.serverName)) > 255) throw M.badJson('User ID too long');
    return localpart;
  }

  /** A localpart for a registration that asked for none: a letter first, so it never looks like a guest's number. */
  generateLocalpart(): string {
    return `u${randomString(11, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
  }

  validatePassword(password: unknown): string {
    return this.hasher.validate(password);
  }

  async isAvailable(localpart: string): Promise<boolean> {
    return (await this.accounts.find(localpart, this.serverName)) === null;
  }

  /** Creates an account; M_USER_IN_USE when taken. The password must already be validated. */
  async createAccount(account: NewAccount): Promise<string> {
    const passwordHash = account.password === null ? null : await this.hasher.hash(account.password);
    const created = await this.accounts.create({
      localpart: account.localpart,
      serverName: this.serverName,
      passwordHash,
      accountType: account.accountType,
      displayName: account.displayName || account.localpart,
    });
    if (!created) throw M.userInUse();
    return userId(account.localpart, this.serverName);
  }

  /** Bulk creation for tooling (the seed command): one slow hash shared by all the accounts. */
  async createAccountsBulk(localparts: string[], password: string): Promise<number> {
    const hash = await this.hasher.hash(this.validatePassword(password));
    return this.accounts.createMany(localparts, this.serverName, hash);
  }

  /** Creates the system account used by the server itself (server notices), idempotently. */
  async ensureSystemAccount(localpart: string): Promise<string> {
    await this.accounts.create({
      localpart,
      serverName: this.serverName,
      passwordHash: null,
      accountType: AccountType.User,
      displayName: localpart,
    });
    return userId(localpart, this.serverName);
  }

  async nextGuestLocalpart(): Promise<string> {
    return this.accounts.nextGuestLocalpart(this.serverName);
  }

  /** Opens a session (device + access token). An existing device ID gets a fresh token. */
  async openSession(
    localpart: string,
    deviceId: string | null | undefined,
    displayName: string | null | undefined,
    client: ClientInfo,
  ): Promise<Session> {
    const token = newAccessToken();
    const device = deviceId || newDeviceId();
    const created = await this.devices.upsert({
      deviceId: device,
      localpart,
      serverName: this.serverName,
      tokenHash: hashToken(token),
      displayName: displayName ?? null,
      ip: client.ip,
      userAgent: client.userAgent,
    });
    const user = userId(localpart, this.serverName);
    if (created) this.emitDevices({ userId: user, deviceIds: [device], deleted: false });
    // An existing device's previous token no longer works.
    else await this.tokens.revokeUser(user);
    return { user_id: user, access_token: token, device_id: device, home_server: this.serverName };
  }

  /** m.login.password: the identifier may be a bare localpart or a full local user ID. */
  async checkPassword(user: string, password: string): Promise<string> {
    const forbidden = () => new MatrixError('M_FORBIDDEN', 'Invalid username or password');
    let localpart = user;
    if (user.startsWith('@')) {
      const parsed = parseUserId(user);
      if (!parsed || parsed.serverName !== this.serverName) throw forbidden();
      localpart = parsed.localpart;
    }
    localpart = localpart.toLowerCase();
    if (localpart.includes('\0')) throw forbidden();
    // Whoever signed in as the server notices user could write in every user's notices room. It has no
    // password, but one may have been set before resetPassword refused it, or by SQL.
    if (localpart === this.config.SERVER_NOTICES_LOCALPART) throw forbidden();
    const account = await this.accounts.find(localpart, this.serverName);
    if (!account || !(await this.hasher.verify(password, account.password_hash))) throw forbidden();
    if (account.is_deactivated)
      throw new MatrixError('M_USER_DEACTIVATED', 'This account has been deactivated');
    return localpart;
  }

  async verifyPassword(localpart: string, password: string): Promise<boolean> {
    const account = await this.accounts.find(localpart, this.serverName);
    return account !== null && (await this.hasher.verify(password, account.password_hash));
  }

  async logout(requester: Requester): Promise<void> {
    await this.deleteDevices(requester.localpart, [requester.deviceId]);
  }

  async logoutAll(requester: Requester): Promise<void> {
    await this.deleteDevices(requester.localpart, null);
  }

  /** Deletes devices (all when null) except `keep`, ending their sessions at once. */
  async deleteDevices(
    localpart: string,
    deviceIds: string[] | null,
    keep: string | null = null,
  ): Promise<string[]> {
    const deleted = await this.devices.delete(localpart, this.serverName, deviceIds, keep);
    if (deleted.length > 0) await this.sessionsEnded(localpart, deleted);
    return deleted;
  }

  /** The user's own password change: other sessions end unless logoutDevices is false. */
  async changePassword(requester: Requester, newPassword: string, logoutDevices: boolean): Promise<void> {
    const hash = await this.hasher.hash(this.validatePassword(newPassword));
    await this.accounts.updatePassword(requester.localpart, this.serverName, hash);
    if (logoutDevices) await this.deleteDevices(requester.localpart, null, requester.deviceId);
  }

  /** POST /_dendrite/admin/resetPassword: password and (optionally) every session in one transaction. */
  async resetPassword(user: string, password: unknown, logoutDevices: boolean): Promise<void> {
    const { localpart } = requireLocalUserId(user, this.serverName, 'resetPassword');
    // A password would let an admin sign in as it and post in every user's notices room.
    if (localpart === this.config.SERVER_NOTICES_LOCALPART) {
      throw M.invalidParam('The server notices user cannot have a password');
    }
    if (!(await this.accounts.find(localpart, this.serverName))) throw M.notFound('User does not exist');
    const hash = await this.hasher.hash(this.validatePassword(password));
    const deleted = await this.sql.transaction(async (tx) => {
      await this.accounts.updatePassword(localpart, this.serverName, hash, tx);
      return logoutDevices ? this.devices.delete(localpart, this.serverName, null, null, tx) : [];
    });
    if (deleted.length > 0) await this.sessionsEnded(localpart, deleted);
  }

  async accountExists(localpart: string): Promise<boolean> {
    return (await this.accounts.find(localpart, this.serverName)) !== null;
  }

  async accountType(localpart: string): Promise<AccountType | null> {
    return (await this.accounts.find(localpart, this.serverName))?.account_type ?? null;
  }

  listActiveUserLocalparts(after: string, limit: number): Promise<string[]> {
    return this.accounts.listActiveUserLocalparts(this.serverName, after, limit);
  }

  countActiveUsers(): Promise<number> {
    return this.accounts.countActiveUsers(this.serverName);
  }

  /** After devices were deleted (committed): their tokens stop working in every process, and the device list changed. */
  private async sessionsEnded(localpart: string, deviceIds: string[]): Promise<void> {
    const user = userId(localpart, this.serverName);
    await this.tokens.revokeUser(user);
    this.emitDevices({ userId: user, deviceIds, deleted: true });
  }

  private emitDevices(event: DevicesChanged): void {
    this.events.emit(DevicesChangedEvent, event);
  }
}
