import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { isCanonicalizable } from '../../common/crypto/canonical-json.js';
import { randomString } from '../../accounts/services/tokens.js';
import type { CreateRoomDto } from '../dto/create-room.dto.js';
import { DEFAULT_ROOM_VERSION, isSupportedRoomVersion, type RoomVersion } from '../events/room-versions.js';
import { AliasRepository } from '../repositories/alias.repository.js';
import { RoomRepository } from '../repositories/room.repository.js';
import { MembershipService } from './membership.service.js';
import { RoomWriterService, type EventDraft } from './room-writer.service.js';

const PRESETS = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_access: 'forbidden' },
} as const;

/** Synapse's default power levels (not in the spec, but what clients expect to find). */
function defaultPowerLevels(creator: string, privatePreset: boolean): Record<string, unknown> {
  return {
    users: { [creator]: 100 },
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: privatePreset ? 0 : 50,
    notifications: { room: 50 },
  };
}

@Injectable()
export class RoomCreationService {
  constructor(
    private readonly config: AppConfig,
    private readonly writer: RoomWriterService,
    private readonly rooms: RoomRepository,
    private readonly aliases: AliasRepository,
    private readonly memberships: MembershipService,
  ) {}

  /** POST /createRoom, for a local user (also used by server notices with the system user). */
  async createRoom(creator: string, body: CreateRoomDto): Promise<{ room_id: string; room_alias?: string }> {
    const version = (body.room_version ?? DEFAULT_ROOM_VERSION) as RoomVersion;
    if (!isSupportedRoomVersion(version)) {
      throw new MatrixError(
        'M_UNSUPPORTED_ROOM_VERSION',
        `Room version ${body.room_version} is not supported`,
      );
    }
    for (const part of [
      body.creation_content,
      body.power_level_content_override,
      ...(body.initial_state ?? []).map((s) => s.content),
    ]) {
      if (part !== undefined && !isCanonicalizable(part))
        throw M.badJson('event content must hold integers only, no floats');
    }
    // The creator is joined already; inviting them too would be refused and sink the whole room.
    const invitees = [...new Set(body.invite ?? [])].filter((u) => u !== creator);
    for (const invitee of invitees) await this.memberships.checkInvitee(invitee);

    const roomId = `!${randomString(18)}:${this.config.SERVER_NAME}`;
    let alias: string | undefined;
    if (body.room_alias_name !== undefined) {
      alias = `#${body.room_alias_name}:${this.config.SERVER_NAME}`;
      if (body.room_alias_name === '' || /[:\s\0]/.test(body.room_alias_name))
        throw M.invalidParam('Invalid room_alias_name');
      if (await this.aliases.find(alias)) throw new MatrixError('M_ROOM_IN_USE', 'Room alias already taken');
    }

    const preset = body.preset ?? (body.visibility === 'public' ? 'public_chat' : 'private_chat');
    const drafts: EventDraft[] = [];
    const state = (type: string, content: Record<string, unknown>, stateKey = '') =>
      drafts.push({ type, stateKey, content, sender: creator });

    state('m.room.create', {
      ...(body.creation_content ?? {}),
      room_version: version,
      ...(version === '10' ? { creator } : {}),
    });
    state(
      'm.room.member',
      { ...(await this.memberships.profileContent(creator)), membership: 'join' },
      creator,
    );

    const powerLevels = {
      ...defaultPowerLevels(creator, preset !== 'public_chat'),
      ...(body.power_level_content_override ?? {}),
    };
    if (preset === 'trusted_private_chat') {
      const users = { ...(powerLevels.users as Record<string, number>) };
      for (const invitee of invitees) users[invitee] = 100;
      powerLevels.users = users;
    }
    state('m.room.power_levels', powerLevels);
    if (alias) state('m.room.canonical_alias', { alias });
    const p = PRESETS[preset];
    state('m.room.join_rules', { join_rule: p.join_rule });
    state('m.room.history_visibility', { history_visibility: p.history_visibility });
    state('m.room.guest_access', { guest_access: p.guest_access });
    for (const s of body.initial_state ?? []) state(s.type, s.content, s.state_key ?? '');
    if (body.name !== undefined) state('m.room.name', { name: body.name });
    if (body.topic !== undefined) state('m.room.topic', { topic: body.topic });
    for (const invitee of invitees) {
      state(
        'm.room.member',
        { membership: 'invite', ...(body.is_direct ? { is_direct: true } : {}) },
        invitee,
      );
    }

    try {
      await this.writer.createRoom(roomId, version, creator, drafts, async (tx) => {
        if (alias && !(await this.aliases.create(alias, roomId, creator, tx))) {
          throw new MatrixError('M_ROOM_IN_USE', 'Room alias already taken');
        }
      });
    } catch (err) {
      // The creator may do anything in a new room, so a refused event is bad input (an override
      // or initial_state the rules do not accept), not a missing permission.
      if (err instanceof MatrixError && err.errcode === 'M_FORBIDDEN')
        throw M.invalidParam(`The room cannot be created: ${err.message}`);
      throw err;
    }
    if (body.visibility === 'public') await this.rooms.setPublic(roomId, true);
    return { room_id: roomId, ...(alias ? { room_alias: alias } : {}) };
  }
}
