import { Type } from 'class-transformer';
import { IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

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

/** The notice itself, shared by the single and the broadcast forms. */
export class ServerNoticeDto {
  @IsObject()
  @ValidateNested()
  @Type(() => ServerNoticeContentDto)
  content: ServerNoticeContentDto;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  type?: string;

  @IsOptional()
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
