import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { SearchBodyDto, SearchQueryDto } from '../dto/search.dto.js';
import { SearchService } from '../services/search.service.js';

/** Server-side full-text search. */
@Controller(CLIENT_PREFIXES)
@Authenticated()
export class SearchController {
  constructor(private readonly searchService: SearchService) {}

  /** POST /_matrix/client/v3/search?next_batch= */
  @Post('search')
  @HttpCode(200)
  search(@Caller() caller: Requester, @Body() body: SearchBodyDto, @Query() query: SearchQueryDto) {
    return this.searchService.search(caller, body, query.next_batch);
  }
}
