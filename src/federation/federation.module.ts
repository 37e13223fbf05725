import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { FederationAuthGuard } from './auth/federation-auth.guard.js';
import { ClientKeysController } from './controllers/client-keys.controller.js';
import { FederationKeysController } from './controllers/federation-keys.controller.js';
import { FederationTransactionController } from './controllers/federation-transaction.controller.js';
import { FederationVersionController } from './controllers/federation-version.controller.js';
import { KeyServerController } from './controllers/key-server.controller.js';
import { ServerKeysRepository } from './repositories/server-keys.repository.js';
import { E2eKeysService } from './services/e2e-keys.service.js';
import { FederationClient } from './services/federation-client.service.js';
import { KeyRingService } from './services/key-ring.service.js';
import { KeyServerService } from './services/key-server.service.js';
import { RemoteDevicesService } from './services/remote-devices.service.js';
import { ServerDiscoveryService } from './services/server-discovery.service.js';
import { TransactionService } from './services/transaction.service.js';

/**
 * Federation: our signing keys and the key server, other servers' keys, X-Matrix signed requests in
 * and out, server discovery, and end-to-end keys across servers (client key endpoints, the
 * federation user-keys endpoints, remote device lists).
 */
@Module({
  imports: [AccountsModule, RoomsModule],
  controllers: [
    KeyServerController,
    FederationVersionController,
    FederationKeysController,
    FederationTransactionController,
    ClientKeysController,
  ],
  providers: [
    ServerKeysRepository,
    ServerDiscoveryService,
    FederationClient,
    KeyRingService,
    KeyServerService,
    FederationAuthGuard,
    RemoteDevicesService,
    E2eKeysService,
    TransactionService,
  ],
  exports: [RemoteDevicesService, FederationClient, KeyRingService],
})
export class FederationModule {}
