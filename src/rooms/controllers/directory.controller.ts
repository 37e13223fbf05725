import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import {
  AliasDto,
  PublicRoomsFilterDto,
  PublicRoomsQuery,
  PublicRoomsServerQuery,
  VisibilityDto,
} from '../dto/room-misc.dto.js';
import { DirectoryService } from '../services/directory.service.js';

/** Room aliases and the public room directory. */
@Controller(CLIENT_PREFIXES)
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  /** GET /_matrix/client/v3/directory/room/{roomAlias} */
  @Get('directory/room/:alias')
  resolve(@Param('alias') alias: string) {
    return this.directory.resolveAlias(alias);
  }

  /** PUT /_matrix/client/v3/directory/room/{roomAlias} */
  @Put('directory/room/:alias')
  @Authenticated()
  async create(@Caller() caller: Requester, @Param('alias') alias: string, @Body() body: AliasDto) {
    await this.directory.createAlias(caller, alias, body.room_id);
    return {};
  }

  /** DELETE /_matrix/client/v3/directory/room/{roomAlias} */
  @Delete('directory/room/:alias')
  @Authenticated()
  async remove(@Caller() caller: Requester, @Param('alias') alias: string) {
    await this.directory.deleteAlias(caller, alias);
    return {};
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/aliases */
  @Get('rooms/:roomId/aliases')
  @Authenticated()
  aliases(@Caller() caller: Requester, @Param('roomId') roomId: string) {
    return this.directory.roomAliases(caller, roomId);
  }

  /** GET /_matrix/client/v3/directory/list/room/{roomId} */
  @Get('directory/list/room/:roomId')
  visibility(@Param('roomId') roomId: string) {
    return this.directory.getVisibility(roomId);
  }

  /** PUT /_matrix/client/v3/directory/list/room/{roomId} */
  @Put('directory/list/room/:roomId')
  @Authenticated()
  async setVisibility(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Body() body: VisibilityDto,
  ) {
    await this.directory.setVisibility(caller, roomId, body.visibility);
    return {};
  }

  /** GET /_matrix/client/v3/publicRooms */
  @Get('publicRooms')
  publicRooms(@Query() query: PublicRoomsQuery) {
    return this.directory.publicRooms(query.limit ?? 100, query.since, undefined, query.server);
  }

  /** POST /_matrix/client/v3/publicRooms */
  @Post('publicRooms')
  @HttpCode(200)
  @Authenticated({ allowGuest: true })
  searchPublicRooms(@Body() body: PublicRoomsFilterDto, @Query() query: PublicRoomsServerQuery) {
    const term = body.filter?.generic_search_term;
    return this.directory.publicRooms(
      body.limit ?? 100,
      body.since,
      typeof term === 'string' && term !== '' ? term : undefined,
      query.server,
    );
  }
}
