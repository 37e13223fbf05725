import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/** GET /_matrix/client/v3/sync query (unknown parameters such as _cacheBuster are ignored). */
export class SyncQuery {
  @IsOptional()
  @IsString()
  since?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  timeout?: number;

  @IsOptional()
  @IsIn(['true', 'false'])
  full_state?: string;

  @IsOptional()
  @IsString()
  filter?: string;

  @IsOptional()
  @IsIn(['offline', 'online', 'unavailable'])
  set_presence?: string;
}
