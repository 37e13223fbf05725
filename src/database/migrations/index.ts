import { Accounts1764100000000 } from './1764100000000-accounts.js';
import { Rooms1764200000000 } from './1764200000000-rooms.js';
import { Sync1764250000000 } from './1764250000000-sync.js';
import { KeysAndFederation1764300000000 } from './1764300000000-keys-and-federation.js';
import { Search1764400000000 } from './1764400000000-search.js';
import { Notices1764500000000 } from './1764500000000-notices.js';
import { TypingExpiry1764600000000 } from './1764600000000-typing-expiry.js';
import { ToDevice1764700000000 } from './1764700000000-to-device.js';

/** Every migration, in order. Explicit (no globs) so the compiled and test builds agree. */
export const MIGRATIONS = [
  Accounts1764100000000,
  Rooms1764200000000,
  Sync1764250000000,
  KeysAndFederation1764300000000,
  Search1764400000000,
  Notices1764500000000,
  TypingExpiry1764600000000,
  ToDevice1764700000000,
];
