import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { CreateRoomDto } from '../dto/create-room.dto.js';
import { ReasonDto, TargetUserDto } from '../dto/membership.dto.js';
import { MembershipService } from '../services/membership.service.js';
import { RoomCreationService } from '../services/room-creation.service.js';
import { SUPPORTED_ROOM_VERSIONS, DEFAULT_ROOM_VERSION } from '../events/room-versions.js';

/** Creating rooms and changing membership. */
@Controller(CLIENT_PREFIXES)
@Authenticated()
export class RoomsController {
  constructor(
    private readonly creation: RoomCreationService,
    private readonly membership: MembershipService,
  ) {}

  /** POST /_matrix/client/v3/createRoom */
  @Post('createRoom')
  @HttpCode(200)
  createRoom(@Caller() caller: Requester, @Body() body: CreateRoomDto) {
    return this.creation.createRoom(caller.userId, body);
  }

  /** POST /_matrix/client/v3/join/{roomIdOrAlias} */
  @Post('join/:roomIdOrAlias')
  @HttpCode(200)
  join(@Caller() caller: Requester, @Param('roomIdOrAlias') room: string, @Body() body: ReasonDto) {
    return this.membership.join(caller.userId, room, body.reason);
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/join */
  @Post('rooms/:roomId/join')
  @HttpCode(200)
  joinRoom(@Caller() caller: Requester, @Param('roomId') roomId: string, @Body() body: ReasonDto) {
    return this.membership.joinRoomId(caller.userId, roomId, body.reason);
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/leave */
  @Post('rooms/:roomId/leave')
  @HttpCode(200)
  async leave(@Caller() caller: Requester, @Param('roomId') roomId: string, @Body() body: ReasonDto) {
    await this.membership.leave(caller.userId, roomId, body.reason);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/invite */
  @Post('rooms/:roomId/invite')
  @HttpCode(200)
  async invite(@Caller() caller: Requester, @Param('roomId') roomId: string, @Body() body: TargetUserDto) {
    await this.membership.invite(caller.userId, roomId, body.user_id, body.reason);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/kick */
  @Post('rooms/:roomId/kick')
  @HttpCode(200)
  async kick(@Caller() caller: Requester, @Param('roomId') roomId: string, @Body() body: TargetUserDto) {
    await this.membership.kick(caller.userId, roomId, body.user_id, body.reason);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/ban */
  @Post('rooms/:roomId/ban')
  @HttpCode(200)
  async ban(@Caller() caller: Requester, @Param('roomId') roomId: string, @Body() body: TargetUserDto) {
    await this.membership.ban(caller.userId, roomId, body.user_id, body.reason);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/unban */
  @Post('rooms/:roomId/unban')
  @HttpCode(200)
  async unban(@Caller() caller: Requester, @Param('roomId') roomId: string, @Body() body: TargetUserDto) {
    await this.membership.unban(caller.userId, roomId, body.user_id, body.reason);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/forget */
  @Post('rooms/:roomId/forget')
  @HttpCode(200)
  async forget(@Caller() caller: Requester, @Param('roomId') roomId: string) {
    await this.membership.forget(caller.userId, roomId);
    return {};
  }

  /** GET /_matrix/client/v3/joined_rooms */
  @Get('joined_rooms')
  async joinedRooms(@Caller() caller: Requester) {
    return { joined_rooms: await this.membership.joinedRooms(caller.userId) };
  }

  /** GET /_matrix/client/v3/capabilities */
  @Get('capabilities')
  capabilities() {
    const available = Object.fromEntries(SUPPORTED_ROOM_VERSIONS.map((v) => [v, 'stable']));
    return {
      capabilities: {
        'm.change_password': { enabled: true },
        'm.room_versions': { default: DEFAULT_ROOM_VERSION, available },
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
      },
    };
  }
}
