import { ArrayMaxSize, IsArray, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { NoNul } from '../../common/http/no-nul.validator.js';

export class UpdateDeviceDto {
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @NoNul()
  display_name?: string | null;
}

export class DeleteDeviceDto {
  @IsOptional()
  @IsObject()
  auth?: Record<string, unknown>;
}

export class DeleteDevicesDto extends DeleteDeviceDto {
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @NoNul({ each: true })
  devices: string[];
}
