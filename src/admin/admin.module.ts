import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { FederationModule } from '../federation/federation.module.js';
import { NoticesModule } from '../notices/notices.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { SearchModule } from '../search/search.module.js';
import { RoomsAdminController } from './controllers/rooms-admin.controller.js';
import { RoomOperationsService } from './services/room-operations.service.js';
import { DendriteAdminController } from './controllers/dendrite-admin.controller.js';
import { FederationAdminController } from './controllers/federation-admin.controller.js';
import { JobsController } from './controllers/jobs.controller.js';
import { SearchAdminController } from './controllers/search-admin.controller.js';
import { NoticesAdminController } from './controllers/notices-admin.controller.js';
import { SharedSecretRegistrationController } from './controllers/shared-secret-registration.controller.js';
import { WhoisController } from './controllers/whois.controller.js';
import { SharedSecretRegistrationService } from './services/shared-secret-registration.service.js';

/** The admin API: Dendrite's and Synapse's paths plus Lattice's own /_lattice/admin/v1. Composes the other modules; nothing imports it. */
@Module({
  imports: [AccountsModule, RoomsModule, FederationModule, NoticesModule, SearchModule],
  controllers: [
    SharedSecretRegistrationController,
    WhoisController,
    DendriteAdminController,
    JobsController,
    FederationAdminController,
    NoticesAdminController,
    RoomsAdminController,
    SearchAdminController,
  ],
  providers: [SharedSecretRegistrationService, RoomOperationsService],
})
export class AdminModule {}
