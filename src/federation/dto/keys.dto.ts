import { IsArray, IsInt, IsObject, IsOptional, IsString, Min } from 'class-validator';

/** POST /_matrix/client/v3/keys/upload (the maps' contents are checked by the key server). */
export class KeysUploadDto {
  @IsOptional()
  @IsObject()
  device_keys?: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  one_time_keys?: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  fallback_keys?: Record<string, unknown>;
}

/** POST /_matrix/client/v3/keys/query and /_matrix/federation/v1/user/keys/query */
export class KeysQueryDto {
  @IsObject()
  device_keys: Record<string, unknown>;

  @IsOptional()
  @IsInt()
  @Min(0)
  timeout?: number;
}

/** POST /_matrix/client/v3/keys/claim and /_matrix/federation/v1/user/keys/claim */
export class KeysClaimDto {
  @IsObject()
  one_time_keys: Record<string, unknown>;

  @IsOptional()
  @IsInt()
  @Min(0)
  timeout?: number;
}

/** GET /_matrix/client/v3/keys/changes?from=&to= */
export class KeysChangesQuery {
  @IsString()
  from: string;

  @IsOptional()
  @IsString()
  to?: string;
}

/** POST /_matrix/key/v2/query */
export class NotaryQueryDto {
  @IsObject()
  server_keys: Record<string, unknown>;
}

/** GET /_matrix/key/v2/query/{serverName}?minimum_valid_until_ts= */
export class NotaryGetQuery {
  @IsOptional()
  @IsString()
  minimum_valid_until_ts?: string;
}

/** PUT /_matrix/federation/v1/send/{txnId} */
export class TransactionDto {
  @IsString()
  origin: string;

  @IsInt()
  origin_server_ts: number;

  @IsArray()
  pdus: unknown[];

  @IsOptional()
  @IsArray()
  edus?: unknown[];
}
