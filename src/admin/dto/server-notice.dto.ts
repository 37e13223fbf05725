import { Type } from 'class-transformer';
import { IsNotEmpty, IsObject, IsString, MaxLength, ValidateIf, ValidateNested } from 'class-validator';

/** A notice's content: `msgtype` and `body` are required; any other key is kept as given. */
export class ServerNoticeContentDto {
  [key: string]: unknown;

  @IsString()
  @IsNotEmpty()
  msgtype: string;

  @IsString()
  @IsNotEmpty()
  body: string;
}

/**
 * Optional fields may be left out but not null: `@IsOptional()` would let `null` past `@IsString()`
 * to the service, which takes a key that is there for a string.
 */
const present = (_: object, value: unknown) => value !== undefined;

/** The notice itself, shared by the single and the broadcast forms. */
export class ServerNoticeDto {
  @IsObject()
  @ValidateNested()
  @Type(() => ServerNoticeContentDto)
  content: ServerNoticeContentDto;

  @ValidateIf(present)
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  type?: string;

  @ValidateIf(present)
  @IsString()
  @MaxLength(255)
  state_key?: string;
}

/** POST /_synapse/admin/v1/send_server_notice and PUT .../{txnId} */
export class SendServerNoticeDto extends ServerNoticeDto {
  @IsString()
  @IsNotEmpty()
  user_id: string;
}

/** POST /_lattice/admin/v1/server_notices/broadcast */
export class BroadcastServerNoticeDto extends ServerNoticeDto {}
