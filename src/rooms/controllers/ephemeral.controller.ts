import { Body, Controller, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { ReadMarkersDto, ReceiptDto, TypingDto } from '../dto/room-misc.dto.js';
import { EphemeralService } from '../services/ephemeral.service.js';

/** Typing notifications, receipts and read markers. */
@Controller(CLIENT_PREFIXES)
@Authenticated()
export class EphemeralController {
  constructor(private readonly ephemeral: EphemeralService) {}

  /** PUT /_matrix/client/v3/rooms/{roomId}/typing/{userId} */
  @Put('rooms/:roomId/typing/:userId')
  async typing(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('userId') userId: string,
    @Body() body: TypingDto,
  ) {
    await this.ephemeral.setTyping(caller, roomId, userId, body.typing, body.timeout);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/receipt/{receiptType}/{eventId} */
  @Post('rooms/:roomId/receipt/:receiptType/:eventId')
  @HttpCode(200)
  async receipt(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('receiptType') type: string,
    @Param('eventId') eventId: string,
    @Body() body: ReceiptDto,
  ) {
    await this.ephemeral.sendReceipt(caller, roomId, type, eventId, body.thread_id);
    return {};
  }

  /** POST /_matrix/client/v3/rooms/{roomId}/read_markers */
  @Post('rooms/:roomId/read_markers')
  @HttpCode(200)
  async readMarkers(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Body() body: ReadMarkersDto,
  ) {
    await this.ephemeral.setReadMarkers(caller, roomId, body);
    return {};
  }
}
