import { AccountType } from '../repositories/account.repository.js';

/** The authenticated caller of a request: a device of a local account. */
export interface Requester {
  userId: string;
  localpart: string;
  serverName: string;
  deviceId: string;
  sessionId: string;
  accountType: AccountType;
}

export const isAdmin = (r: Requester): boolean => r.accountType === AccountType.Admin;
export const isGuest = (r: Requester): boolean => r.accountType === AccountType.Guest;
