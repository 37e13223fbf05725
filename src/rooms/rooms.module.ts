import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { DirectoryController } from './controllers/directory.controller.js';
import { EphemeralController } from './controllers/ephemeral.controller.js';
import { RoomEventsController } from './controllers/room-events.controller.js';
import { RoomsController } from './controllers/rooms.controller.js';
import { AliasRepository } from './repositories/alias.repository.js';
import { EphemeralRepository } from './repositories/ephemeral.repository.js';
import { MembershipRepository } from './repositories/membership.repository.js';
import { RoomEventRepository } from './repositories/room-event.repository.js';
import { RoomRepository } from './repositories/room.repository.js';
import { RoomStateRepository } from './repositories/room-state.repository.js';
import { RoomPurgeRepository } from './repositories/room-purge.repository.js';
import { RoomAdminService } from './services/room-admin.service.js';
import { DeviceListTrackingService } from './services/device-list-tracking.service.js';
import { DirectoryService } from './services/directory.service.js';
import { EphemeralService } from './services/ephemeral.service.js';
import { MembershipService } from './services/membership.service.js';
import { RoomCreationService } from './services/room-creation.service.js';
import { RoomEventsService } from './services/room-events.service.js';
import { RoomStreamService } from './services/room-stream.service.js';
import { RoomWriterService } from './services/room-writer.service.js';
import { TypingExpiryService } from './services/typing-expiry.service.js';
import { VisibilityService } from './services/visibility.service.js';

/** Rooms: events (PDUs), state, membership, aliases, receipts and typing. The only writer of the room tables. */
@Module({
  imports: [AccountsModule],
  controllers: [RoomsController, RoomEventsController, DirectoryController, EphemeralController],
  providers: [
    RoomRepository,
    RoomEventRepository,
    RoomStateRepository,
    MembershipRepository,
    AliasRepository,
    EphemeralRepository,
    RoomPurgeRepository,
    RoomWriterService,
    RoomAdminService,
    VisibilityService,
    MembershipService,
    RoomCreationService,
    RoomEventsService,
    DirectoryService,
    EphemeralService,
    RoomStreamService,
    DeviceListTrackingService,
    TypingExpiryService,
  ],
  exports: [
    RoomAdminService,
    RoomCreationService,
    MembershipService,
    RoomEventsService,
    RoomStreamService,
    RoomWriterService,
    DirectoryService,
    DeviceListTrackingService,
  ],
})
export class RoomsModule {}
