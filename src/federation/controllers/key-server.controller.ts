import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { NotaryGetQuery, NotaryQueryDto } from '../dto/keys.dto.js';
import { KeyServerService } from '../services/key-server.service.js';

/** The key server: our signing keys, and other servers' keys as a notary. No authentication. */
@Controller('_matrix/key/v2')
export class KeyServerController {
  constructor(private readonly keyServer: KeyServerService) {}

  /** GET /_matrix/key/v2/server */
  @Get('server')
  server() {
    return this.keyServer.ownKeys();
  }

  /** GET /_matrix/key/v2/query/{serverName}?minimum_valid_until_ts= */
  @Get('query/:serverName')
  queryOne(@Param('serverName') serverName: string, @Query() query: NotaryGetQuery) {
    return this.keyServer.queryOne(serverName, query.minimum_valid_until_ts);
  }

  /** POST /_matrix/key/v2/query */
  @Post('query')
  @HttpCode(200)
  query(@Body() body: NotaryQueryDto) {
    return this.keyServer.query(body.server_keys);
  }
}
