import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import { NoNul } from '../../common/http/no-nul.validator.js';

/** An optional device ID or device name, as login and register take them (null means absent). */
const DeviceField = () => applyDecorators(IsOptional(), IsString(), MaxLength(255), NoNul());

export class UserIdentifierDto {
  @IsString()
  type: string;

  @IsOptional()
  @IsString()
  @NoNul()
  user?: string;
}

/** POST /login body (m.login.password, with the legacy top-level `user` js-sdk still sends). */
export class LoginDto {
  @IsString()
  type: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => UserIdentifierDto)
  identifier?: UserIdentifierDto;

  @IsOptional()
  @IsString()
  @NoNul()
  user?: string;

  @IsOptional()
  @IsString()
  @NoNul()
  password?: string;

  @DeviceField()
  device_id?: string | null;

  @DeviceField()
  initial_device_display_name?: string | null;

  @IsOptional()
  @IsBoolean()
  refresh_token?: boolean;
}

export class AuthDictDto {
  [key: string]: unknown;
}

/** POST /register body. `auth` is the user-interactive-auth dictionary. */
export class RegisterDto {
  @IsOptional()
  @IsString()
  username?: string;

  @IsOptional()
  @IsString()
  password?: string;

  @DeviceField()
  device_id?: string | null;

  @DeviceField()
  initial_device_display_name?: string | null;

  @IsOptional()
  @IsBoolean()
  inhibit_login?: boolean;

  @IsOptional()
  @IsObject()
  auth?: Record<string, unknown>;

  @IsOptional()
  @IsBoolean()
  refresh_token?: boolean;
}

/** POST /account/password body. */
export class ChangePasswordDto {
  @IsString()
  new_password: string;

  @IsOptional()
  @IsBoolean()
  logout_devices?: boolean;

  @IsOptional()
  @IsObject()
  auth?: Record<string, unknown>;
}
