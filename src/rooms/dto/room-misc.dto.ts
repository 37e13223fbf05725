import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class ContextQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100000)
  limit?: number;

  @IsOptional()
  @IsString()
  filter?: string;
}

export class MessagesQuery extends ContextQuery {
  @IsOptional()
  @IsString()
  from?: string;

  @IsOptional()
  @IsString()
  to?: string;

  @IsOptional()
  @IsIn(['b', 'f'])
  dir?: 'b' | 'f';
}

export class MembersQuery {
  @IsOptional()
  @IsString()
  at?: string;

  @IsOptional()
  @IsIn(['join', 'invite', 'knock', 'leave', 'ban'])
  membership?: string;

  @IsOptional()
  @IsIn(['join', 'invite', 'knock', 'leave', 'ban'])
  not_membership?: string;
}

export class TypingDto {
  @IsBoolean()
  typing: boolean;

  @IsOptional()
  @IsInt()
  @Min(0)
  timeout?: number;
}

export class ReceiptDto {
  @IsOptional()
  @IsString()
  thread_id?: string;
}

/** POST /rooms/{roomId}/read_markers */
export class ReadMarkersDto {
  @IsOptional()
  @IsString()
  'm.fully_read'?: string;

  @IsOptional()
  @IsString()
  'm.read'?: string;

  @IsOptional()
  @IsString()
  'm.read.private'?: string;
}

export class AliasDto {
  @IsString()
  room_id: string;
}

export class VisibilityDto {
  @IsIn(['public', 'private'])
  visibility: 'public' | 'private';
}

export class PublicRoomsQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  limit?: number;

  @IsOptional()
  @IsString()
  since?: string;

  @IsOptional()
  @IsString()
  server?: string;
}

/** POST /publicRooms's query (its body is PublicRoomsFilterDto). */
export class PublicRoomsServerQuery {
  @IsOptional()
  @IsString()
  server?: string;
}

export class PublicRoomsSearchDto {
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  generic_search_term?: string;
}

export class PublicRoomsFilterDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  limit?: number;

  @IsOptional()
  @IsString()
  since?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PublicRoomsSearchDto)
  filter?: PublicRoomsSearchDto;
}
