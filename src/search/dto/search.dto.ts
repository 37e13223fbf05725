import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { NoNul } from '../../common/http/no-nul.validator.js';
import { SEARCH_KEYS, type SearchKey } from '../repositories/search-index.repository.js';

/** The RoomEventFilter fields search applies (spec: filter definitions); others are ignored. */
export class SearchFilterDto {
  @IsOptional()
  @IsInt()
  @Min(1)
  limit?: number;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NoNul({ each: true })
  rooms?: string[];

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NoNul({ each: true })
  not_rooms?: string[];

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NoNul({ each: true })
  senders?: string[];

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NoNul({ each: true })
  not_senders?: string[];

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NoNul({ each: true })
  types?: string[];

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @NoNul({ each: true })
  not_types?: string[];

  @IsOptional()
  @IsBoolean()
  contains_url?: boolean;
}

export class EventContextDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  before_limit?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  after_limit?: number;

  @IsOptional()
  @IsBoolean()
  include_profile?: boolean;
}

export class GroupDto {
  @IsIn(['room_id', 'sender'])
  key: 'room_id' | 'sender';
}

export class GroupingsDto {
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => GroupDto)
  group_by?: GroupDto[];
}

export class RoomEventsCriteriaDto {
  @IsString()
  @NoNul()
  @MaxLength(1000)
  search_term: string;

  @IsOptional()
  @IsArray()
  @IsIn(SEARCH_KEYS, { each: true })
  keys?: SearchKey[];

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SearchFilterDto)
  filter?: SearchFilterDto;

  @IsOptional()
  @IsIn(['rank', 'recent'])
  order_by?: 'rank' | 'recent';

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => EventContextDto)
  event_context?: EventContextDto;

  @IsOptional()
  @IsBoolean()
  include_state?: boolean;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GroupingsDto)
  groupings?: GroupingsDto;
}

export class SearchCategoriesDto {
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RoomEventsCriteriaDto)
  room_events?: RoomEventsCriteriaDto;
}

/** POST /search body. */
export class SearchBodyDto {
  @IsObject()
  @ValidateNested()
  @Type(() => SearchCategoriesDto)
  search_categories: SearchCategoriesDto;
}

export class SearchQueryDto {
  @IsOptional()
  @IsString()
  next_batch?: string;
}
