import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { NoNul } from '../../common/http/no-nul.validator.js';

export class DisplayNameDto {
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @NoNul()
  displayname?: string | null;
}

export class AvatarUrlDto {
  @IsOptional()
  @IsString()
  @Matches(/^(mxc:\/\/[^/]+\/[^/]+)?$/, { message: 'avatar_url must be an mxc:// URI' })
  @NoNul()
  avatar_url?: string | null;
}
