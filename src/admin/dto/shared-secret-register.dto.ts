import { IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { NoNul } from '../../common/http/no-nul.validator.js';

/** POST /_synapse/admin/v1/register */
export class SharedSecretRegisterDto {
  @IsString()
  nonce: string;

  @IsString()
  username: string;

  @IsOptional()
  @IsString()
  password?: string;

  @IsString()
  @Matches(/^[0-9a-fA-F]+$/, { message: 'mac must be hex' })
  mac: string;

  @IsOptional()
  @IsBoolean()
  admin?: boolean;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  @NoNul()
  displayname?: string;
}
