import { Injectable } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { M } from '../../common/errors/matrix-error.js';

/** bcrypt's async API runs on libuv's thread pool, so hashing never blocks the event loop. */
const BCRYPT_COST = 10;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 512;

@Injectable()
export class PasswordHasher {
  hash(password: string): Promise<string> {
    return bcrypt.hash(password, BCRYPT_COST);
  }

  async verify(password: string, hash: string | null): Promise<boolean> {
    // bcrypt stops at a NUL, so "secret\0anything" would pass for "secret"; no stored password has one.
    if (!hash || password.includes('\0')) return false;
    return bcrypt.compare(password, hash);
  }

  /** The password rules every path shares (register, change, reset, shared-secret registration). */
  validate(password: unknown): string {
    if (password === undefined || password === null || password === '')
      throw M.missingParam('Missing password');
    if (typeof password !== 'string') throw M.badJson('password must be a string');
    if (password.includes('\0')) throw M.badJson('password contains invalid character');
    if (password.length > MAX_PASSWORD_LENGTH)
      throw M.badJson(`password too long: max ${MAX_PASSWORD_LENGTH} characters`);
    if (password.length < MIN_PASSWORD_LENGTH)
      throw M.weakPassword(`password too weak: min ${MIN_PASSWORD_LENGTH} characters`);
    return password;
  }
}
