import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessTokenGuard } from './auth/access-token.guard.js';
import { AccountController } from './controllers/account.controller.js';
import { AccountDataController } from './controllers/account-data.controller.js';
import { DevicesController } from './controllers/devices.controller.js';
import { LoginController } from './controllers/login.controller.js';
import { ProfileController } from './controllers/profile.controller.js';
import { RegisterController } from './controllers/register.controller.js';
import { ToDeviceController } from './controllers/to-device.controller.js';
import { AccountRepository } from './repositories/account.repository.js';
import { AccountDataRepository } from './repositories/account-data.repository.js';
import { DeviceRepository } from './repositories/device.repository.js';
import { ProfileRepository } from './repositories/profile.repository.js';
import { ToDeviceRepository } from './repositories/to-device.repository.js';
import { AccountDataService } from './services/account-data.service.js';
import { AccessTokenCache } from './services/access-token-cache.service.js';
import { AccountsService } from './services/accounts.service.js';
import { AuthService } from './services/auth.service.js';
import { DevicesService } from './services/devices.service.js';
import { LoginService } from './services/login.service.js';
import { PasswordHasher } from './services/password-hasher.service.js';
import { ProfileService } from './services/profile.service.js';
import { ToDeviceService } from './services/to-device.service.js';
import { UiaService } from './services/uia.service.js';
import { DeviceKeysRepository } from './keys/device-keys.repository.js';
import { DeviceListChangesRepository } from './keys/device-list-changes.repository.js';
import { KeysService } from './keys/keys.service.js';
import { OneTimeKeysRepository } from './keys/one-time-keys.repository.js';

/** Accounts, devices and access tokens, profiles, account data; and the access-token guard every module relies on. */
@Module({
  controllers: [
    LoginController,
    RegisterController,
    AccountController,
    ProfileController,
    DevicesController,
    AccountDataController,
    ToDeviceController,
  ],
  providers: [
    AccountRepository,
    DeviceRepository,
    ProfileRepository,
    AccountDataRepository,
    PasswordHasher,
    AccessTokenCache,
    AuthService,
    UiaService,
    AccountsService,
    LoginService,
    DevicesService,
    ProfileService,
    AccountDataService,
    DeviceKeysRepository,
    OneTimeKeysRepository,
    DeviceListChangesRepository,
    KeysService,
    ToDeviceRepository,
    ToDeviceService,
    { provide: APP_GUARD, useClass: AccessTokenGuard },
  ],
  exports: [
    AccountsService,
    DevicesService,
    ProfileService,
    AccountDataService,
    LoginService,
    KeysService,
    ToDeviceService,
  ],
})
export class AccountsModule {}
