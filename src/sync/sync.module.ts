import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { SyncController } from './controllers/sync.controller.js';
import { FilterRepository } from './repositories/filter.repository.js';
import { FilterService } from './services/filter.service.js';
import { SyncService } from './services/sync.service.js';
import { WakeupService } from './services/wakeup.service.js';

/** /sync, filters and push rules; long-polls woken across processes through Redis. */
@Module({
  imports: [AccountsModule, RoomsModule],
  controllers: [SyncController],
  providers: [FilterRepository, FilterService, SyncService, WakeupService],
})
export class SyncModule {}
