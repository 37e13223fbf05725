import { Body, Controller, Delete, Get, Param, Put } from '@nestjs/common';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { parseRoomId } from '../../common/matrix/ids.js';
import { hasNul } from '../../common/http/no-nul.validator.js';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../auth/authenticated.decorator.js';
import type { Requester } from '../auth/requester.js';
import { AccountDataService } from '../services/account-data.service.js';

/** Server-managed types a client may not overwrite through the account-data API. */
const SERVER_MANAGED = new Set(['m.fully_read', 'm.push_rules']);

function checkOwner(caller: Requester, userId: string): void {
  if (caller.userId !== userId) throw M.forbidden('Cannot access account data of another user');
}

function checkRoom(roomId: string): void {
  if (!parseRoomId(roomId) || roomId.includes('\0'))
    throw M.invalidParam(`'${roomId}' is not a valid room ID`);
}

/** Types and tags are stored as text, which cannot hold NUL. */
function checkName(what: string, name: string): void {
  if (name.includes('\0')) throw M.invalidParam(`${what} must not contain NUL characters`);
}

function checkContent(type: string, content: unknown): Record<string, unknown> {
  checkName('type', type);
  if (SERVER_MANAGED.has(type)) {
    throw new MatrixError('M_BAD_JSON', `Cannot set ${type} through this API`, 405);
  }
  if (Buffer.byteLength(type) > 255) throw M.badJson('type is longer than 255 bytes');
  // Account data is jsonb, which cannot hold NUL either.
  if (hasNul(content)) throw M.badJson('Account data must not contain NUL characters');
  return content as Record<string, unknown>;
}

@Controller(CLIENT_PREFIXES)
@Authenticated({ allowGuest: true })
export class AccountDataController {
  constructor(private readonly accountData: AccountDataService) {}

  /** GET /_matrix/client/v3/user/{userId}/account_data/{type} */
  @Get('user/:userId/account_data/:type')
  get(@Caller() caller: Requester, @Param('userId') userId: string, @Param('type') type: string) {
    checkOwner(caller, userId);
    checkName('type', type);
    return this.accountData.get(caller.localpart, '', type);
  }

  /** PUT /_matrix/client/v3/user/{userId}/account_data/{type} */
  @Put('user/:userId/account_data/:type')
  async put(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Param('type') type: string,
    @Body() body: unknown,
  ) {
    checkOwner(caller, userId);
    await this.accountData.put(caller.localpart, '', type, checkContent(type, body));
    return {};
  }

  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  @Get('user/:userId/rooms/:roomId/account_data/:type')
  getRoom(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Param('roomId') roomId: string,
    @Param('type') type: string,
  ) {
    checkOwner(caller, userId);
    checkRoom(roomId);
    checkName('type', type);
    return this.accountData.get(caller.localpart, roomId, type);
  }

  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/account_data/{type} */
  @Put('user/:userId/rooms/:roomId/account_data/:type')
  async putRoom(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Param('roomId') roomId: string,
    @Param('type') type: string,
    @Body() body: unknown,
  ) {
    checkOwner(caller, userId);
    checkRoom(roomId);
    await this.accountData.put(caller.localpart, roomId, type, checkContent(type, body));
    return {};
  }

  /** GET /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags */
  @Get('user/:userId/rooms/:roomId/tags')
  async tags(@Caller() caller: Requester, @Param('userId') userId: string, @Param('roomId') roomId: string) {
    checkOwner(caller, userId);
    checkRoom(roomId);
    return { tags: await this.accountData.getTags(caller.localpart, roomId) };
  }

  /** PUT /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag} */
  @Put('user/:userId/rooms/:roomId/tags/:tag')
  async putTag(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Param('roomId') roomId: string,
    @Param('tag') tag: string,
    @Body() body: Record<string, unknown>,
  ) {
    checkOwner(caller, userId);
    checkRoom(roomId);
    checkName('tag', tag);
    if (Buffer.byteLength(tag) > 255) throw M.badJson('tag is longer than 255 bytes');
    if (hasNul(body)) throw M.badJson('Tags must not contain NUL characters');
    if (body.order !== undefined && (typeof body.order !== 'number' || !Number.isFinite(body.order))) {
      throw M.badJson('order must be a number');
    }
    await this.accountData.setTag(caller.localpart, roomId, tag, body);
    return {};
  }

  /** DELETE /_matrix/client/v3/user/{userId}/rooms/{roomId}/tags/{tag} */
  @Delete('user/:userId/rooms/:roomId/tags/:tag')
  async deleteTag(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Param('roomId') roomId: string,
    @Param('tag') tag: string,
  ) {
    checkOwner(caller, userId);
    checkRoom(roomId);
    checkName('tag', tag);
    await this.accountData.deleteTag(caller.localpart, roomId, tag);
    return {};
  }
}
