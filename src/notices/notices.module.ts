import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { ServerNoticeRoomRepository } from './repositories/server-notice-room.repository.js';
import { NoticeRoomService } from './services/notice-room.service.js';
import { ServerNoticesService } from './services/server-notices.service.js';
import { SystemUserService } from './services/system-user.service.js';

/** Server notices: the notices user, each user's notices room, sending and broadcasting. Goes through rooms for every event. */
@Module({
  imports: [AccountsModule, RoomsModule],
  providers: [ServerNoticeRoomRepository, SystemUserService, NoticeRoomService, ServerNoticesService],
  exports: [ServerNoticesService],
})
export class NoticesModule {}
