import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { KeysChangesQuery, KeysClaimDto, KeysQueryDto, KeysUploadDto } from '../dto/keys.dto.js';
import { E2eKeysService } from '../services/e2e-keys.service.js';

/** End-to-end key endpoints of the client-server API. */
@Controller(CLIENT_PREFIXES)
@Authenticated({ allowGuest: true })
export class ClientKeysController {
  constructor(private readonly keys: E2eKeysService) {}

  /** POST /_matrix/client/v3/keys/upload */
  @Post('keys/upload')
  @HttpCode(200)
  upload(@Caller() caller: Requester, @Body() body: KeysUploadDto) {
    return this.keys.upload(caller, body);
  }

  /** POST /_matrix/client/v3/keys/query */
  @Post('keys/query')
  @HttpCode(200)
  query(@Body() body: KeysQueryDto) {
    return this.keys.query(body.device_keys, body.timeout);
  }

  /** POST /_matrix/client/v3/keys/claim */
  @Post('keys/claim')
  @HttpCode(200)
  claim(@Body() body: KeysClaimDto) {
    return this.keys.claim(body.one_time_keys, body.timeout);
  }

  /** GET /_matrix/client/v3/keys/changes?from=&to= */
  @Get('keys/changes')
  changes(@Caller() caller: Requester, @Query() query: KeysChangesQuery) {
    return this.keys.changes(caller, query.from, query.to);
  }
}
