import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { SearchController } from './controllers/search.controller.js';
import { SearchIndexRepository } from './repositories/search-index.repository.js';
import { SearchIndexService } from './services/search-index.service.js';
import { SearchService } from './services/search.service.js';

/** Full-text search: the index (PostgreSQL tsvector + GIN) kept in step with new events, /search, and the reindex job. */
@Module({
  imports: [AccountsModule, RoomsModule],
  controllers: [SearchController],
  providers: [SearchIndexRepository, SearchIndexService, SearchService],
  exports: [SearchService],
})
export class SearchModule {}
