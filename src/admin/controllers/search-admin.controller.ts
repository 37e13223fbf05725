import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { DENDRITE_ADMIN } from '../../common/http/prefixes.js';
import { AdminOnly } from '../../accounts/auth/authenticated.decorator.js';
import { SearchService } from '../../search/services/search.service.js';

/**
 * Dendrite's fulltext reindex. Answers {} as soon as the job is queued (or joined, when one is
 * already running); follow it at /_lattice/admin/v1/jobs?type=SearchReindex.
 */
@Controller(DENDRITE_ADMIN)
@AdminOnly()
export class SearchAdminController {
  constructor(private readonly searchService: SearchService) {}

  /** GET /_dendrite/admin/fulltext/reindex (Dendrite's method) */
  @Get('fulltext/reindex')
  async reindexByGet() {
    await this.searchService.startReindex();
    return {};
  }

  /** POST /_dendrite/admin/fulltext/reindex */
  @Post('fulltext/reindex')
  @HttpCode(200)
  async reindex() {
    await this.searchService.startReindex();
    return {};
  }
}
