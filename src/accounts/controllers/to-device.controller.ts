import { Body, Controller, Param, Put } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../auth/authenticated.decorator.js';
import type { Requester } from '../auth/requester.js';
import { SendToDeviceDto } from '../dto/to-device.dto.js';
import { ToDeviceService } from '../services/to-device.service.js';

@Controller(CLIENT_PREFIXES)
@Authenticated({ allowGuest: true })
export class ToDeviceController {
  constructor(private readonly toDevice: ToDeviceService) {}

  /** PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId} */
  @Put('sendToDevice/:eventType/:txnId')
  async send(
    @Caller() caller: Requester,
    @Param('eventType') type: string,
    @Param('txnId') txnId: string,
    @Body() body: SendToDeviceDto,
  ) {
    await this.toDevice.send(caller, type, txnId, body.messages);
    return {};
  }
}
