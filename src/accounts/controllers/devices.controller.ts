import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../auth/authenticated.decorator.js';
import type { Requester } from '../auth/requester.js';
import { DeleteDeviceDto, DeleteDevicesDto, UpdateDeviceDto } from '../dto/devices.dto.js';
import { AccountsService } from '../services/accounts.service.js';
import { DevicesService } from '../services/devices.service.js';
import { LoginService } from '../services/login.service.js';

@Controller(CLIENT_PREFIXES)
@Authenticated({ allowGuest: true })
export class DevicesController {
  constructor(
    private readonly devices: DevicesService,
    private readonly accounts: AccountsService,
    private readonly login: LoginService,
  ) {}

  /** GET /_matrix/client/v3/devices */
  @Get('devices')
  async list(@Caller() caller: Requester) {
    return { devices: await this.devices.list(caller.localpart) };
  }

  /** GET /_matrix/client/v3/devices/{deviceId} */
  @Get('devices/:deviceId')
  get(@Caller() caller: Requester, @Param('deviceId') deviceId: string) {
    return this.devices.get(caller.localpart, deviceId);
  }

  /** PUT /_matrix/client/v3/devices/{deviceId} */
  @Put('devices/:deviceId')
  async update(
    @Caller() caller: Requester,
    @Param('deviceId') deviceId: string,
    @Body() body: UpdateDeviceDto,
  ) {
    await this.devices.rename(caller.localpart, deviceId, body.display_name ?? null);
    return {};
  }

  /** DELETE /_matrix/client/v3/devices/{deviceId} (user-interactive auth with the password) */
  @Delete('devices/:deviceId')
  async remove(
    @Caller() caller: Requester,
    @Param('deviceId') deviceId: string,
    @Body() body: DeleteDeviceDto,
  ) {
    await this.devices.get(caller.localpart, deviceId);
    await this.login.requirePassword(caller, body.auth);
    await this.accounts.deleteDevices(caller.localpart, [deviceId]);
    return {};
  }

  /** POST /_matrix/client/v3/delete_devices (user-interactive auth with the password) */
  @Post('delete_devices')
  @HttpCode(200)
  async removeMany(@Caller() caller: Requester, @Body() body: DeleteDevicesDto) {
    await this.login.requirePassword(caller, body.auth);
    await this.accounts.deleteDevices(caller.localpart, body.devices);
    return {};
  }
}
