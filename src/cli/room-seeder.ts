import type { INestApplicationContext } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { AccountsService } from '../accounts/services/accounts.service.js';
import { AppConfig } from '../config/app-config.js';
import { RoomCreationService } from '../rooms/services/room-creation.service.js';
import { RoomWriterService, type EventDraft } from '../rooms/services/room-writer.service.js';

export interface SeedOptions {
  /** Events in the room in total, counting the creation and join events. */
  roomEvents: number;
  /** Local members, all joined. */
  members: number;
  /** Localparts are `<prefix>_<n>`; the room is named after the prefix too. */
  prefix: string;
  password: string;
  onProgress?: (written: number, total: number) => void;
}

export interface SeededRoom {
  roomId: string;
  members: string[];
  events: number;
  seconds: number;
}

const BATCH = 1000;
const WORDS = (
  'the quick brown fox jumps over lazy dog matrix server room admin purge evacuate search index lunch ' +
  'meeting tomorrow release notes deploy database redis queue worker coffee weekend project design review'
).split(' ');

function sentence(): string {
  const n = 4 + randomInt(12);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[randomInt(WORDS.length)]);
  return words.join(' ');
}

/**
 * Builds a large, realistic room quickly: accounts in bulk, then real signed events written
 * through the room writer in batches of 1000 (no HTTP), so every row is what the server itself
 * would have written.
 */
export async function seedRoom(app: INestApplicationContext, options: SeedOptions): Promise<SeededRoom> {
  const started = Date.now();
  const accounts = app.get(AccountsService);
  const serverName = app.get(AppConfig).SERVER_NAME;
  const writer = app.get(RoomWriterService);
  const members = Array.from({ length: Math.max(1, options.members) }, (_, i) => `${options.prefix}_${i}`);
  await accounts.createAccountsBulk(members, options.password);
  const userIds = members.map((m) => `@${m}:${serverName}`);

  const { room_id: roomId } = await app.get(RoomCreationService).createRoom(userIds[0], {
    preset: 'public_chat',
    name: `Seeded room ${options.prefix}`,
    topic: 'Built by npm run seed',
  });
  // createRoom writes six events: create, join, power levels, join rules, history visibility, guest access (+ name, topic).
  let written = 8;
  const total = Math.max(options.roomEvents, written + userIds.length - 1);
  const send = async (drafts: EventDraft[]) => {
    await writer.send(roomId, drafts);
    written += drafts.length;
    options.onProgress?.(written, total);
  };

  for (let i = 1; i < userIds.length; i += BATCH) {
    await send(
      userIds.slice(i, i + BATCH).map((u, k) => ({
        type: 'm.room.member',
        stateKey: u,
        sender: u,
        content: { membership: 'join', displayname: members[i + k] },
      })),
    );
  }
  while (written < total) {
    const n = Math.min(BATCH, total - written);
    const drafts: EventDraft[] = [];
    for (let k = 0; k < n; k++) {
      drafts.push({
        type: 'm.room.message',
        sender: userIds[randomInt(userIds.length)],
        content: { msgtype: 'm.text', body: sentence() },
      });
    }
    await send(drafts);
  }
  return { roomId, members: userIds, events: written, seconds: (Date.now() - started) / 1000 };
}
