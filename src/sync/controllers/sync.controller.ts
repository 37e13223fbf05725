import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { SyncQuery } from '../dto/sync.dto.js';
import { FilterService } from '../services/filter.service.js';
import { defaultPushRules } from '../services/push-rules.js';
import { SyncService } from '../services/sync.service.js';

@Controller(CLIENT_PREFIXES)
@Authenticated({ allowGuest: true })
export class SyncController {
  constructor(
    private readonly syncs: SyncService,
    private readonly filters: FilterService,
  ) {}

  /** GET /_matrix/client/v3/sync */
  @Get('sync')
  sync(@Caller() caller: Requester, @Query() query: SyncQuery) {
    return this.syncs.sync(caller, {
      since: query.since,
      timeout: query.timeout ?? 0,
      fullState: query.full_state === 'true',
      filter: query.filter,
    });
  }

  /** POST /_matrix/client/v3/user/{userId}/filter */
  @Post('user/:userId/filter')
  @HttpCode(200)
  async createFilter(@Caller() caller: Requester, @Param('userId') userId: string, @Body() body: unknown) {
    if (userId !== caller.userId) throw M.forbidden('Cannot create filters for other users');
    return { filter_id: await this.filters.create(caller.userId, body) };
  }

  /** GET /_matrix/client/v3/user/{userId}/filter/{filterId} */
  @Get('user/:userId/filter/:filterId')
  getFilter(
    @Caller() caller: Requester,
    @Param('userId') userId: string,
    @Param('filterId') filterId: string,
  ) {
    if (userId !== caller.userId) throw M.forbidden('Cannot read filters of other users');
    return this.filters.get(caller.userId, filterId);
  }

  /** GET /_matrix/client/v3/pushrules/ */
  @Get('pushrules')
  pushRules(@Caller() caller: Requester) {
    return defaultPushRules(caller.userId, caller.localpart);
  }
}
