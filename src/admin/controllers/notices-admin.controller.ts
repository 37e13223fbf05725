import { Body, Controller, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { LATTICE_ADMIN_V1, SYNAPSE_ADMIN_V1 } from '../../common/http/prefixes.js';
import { AdminOnly, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { ServerNoticesService } from '../../notices/services/server-notices.service.js';
import { BroadcastServerNoticeDto, SendServerNoticeDto } from '../dto/server-notice.dto.js';
import { ServerNoticesEnabledGuard } from '../guards/server-notices-enabled.guard.js';

/** Server notices: Synapse's send_server_notice (as Dendrite serves it) and Lattice's broadcast to all users. */
@Controller()
@AdminOnly()
@UseGuards(ServerNoticesEnabledGuard)
export class NoticesAdminController {
  constructor(private readonly notices: ServerNoticesService) {}

  /** POST /_synapse/admin/v1/send_server_notice */
  @Post(`${SYNAPSE_ADMIN_V1}/send_server_notice`)
  @HttpCode(200)
  send(@Body() body: SendServerNoticeDto) {
    return this.notices.send(body.user_id, {
      content: body.content,
      type: body.type,
      stateKey: body.state_key,
    });
  }

  /** PUT /_synapse/admin/v1/send_server_notice/{txnId} */
  @Put(`${SYNAPSE_ADMIN_V1}/send_server_notice/:txnId`)
  sendOnce(@Caller() caller: Requester, @Param('txnId') txnId: string, @Body() body: SendServerNoticeDto) {
    return this.notices.send(
      body.user_id,
      { content: body.content, type: body.type, stateKey: body.state_key },
      { userId: caller.userId, deviceId: caller.deviceId, txnId },
    );
  }

  /** POST /_lattice/admin/v1/server_notices/broadcast */
  @Post(`${LATTICE_ADMIN_V1}/server_notices/broadcast`)
  @HttpCode(200)
  broadcast(@Body() body: BroadcastServerNoticeDto) {
    return this.notices.startBroadcast({ content: body.content, type: body.type, stateKey: body.state_key });
  }
}
