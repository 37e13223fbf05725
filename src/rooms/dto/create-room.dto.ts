import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';

export class InitialStateEventDto {
  @IsString()
  @MaxLength(255)
  type: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  state_key?: string;

  @IsObject()
  content: Record<string, unknown>;
}

/** POST /_matrix/client/v3/createRoom */
export class CreateRoomDto {
  @IsOptional()
  @IsIn(['public', 'private'])
  visibility?: 'public' | 'private';

  @IsOptional()
  @IsString()
  @MaxLength(200)
  room_alias_name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(4096)
  topic?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsString({ each: true })
  invite?: string[];

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(0, { message: 'third-party invites are not supported' })
  invite_3pid?: unknown[];

  @IsOptional()
  @IsString()
  room_version?: string;

  @IsOptional()
  @IsObject()
  creation_content?: Record<string, unknown>;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => InitialStateEventDto)
  initial_state?: InitialStateEventDto[];

  @IsOptional()
  @IsIn(['private_chat', 'public_chat', 'trusted_private_chat'])
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';

  @IsOptional()
  @IsBoolean()
  is_direct?: boolean;

  @IsOptional()
  @IsObject()
  power_level_content_override?: Record<string, unknown>;
}
