import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class DisplayNameDto {
  @IsOptional()
  @IsString()
  @MaxLength(256)
  displayname?: string | null;
}

export class AvatarUrlDto {
  @IsOptional()
  @IsString()
  @Matches(/^(mxc:\/\/[^/]+\/[^/]+)?$/, { message: 'avatar_url must be an mxc:// URI' })
  avatar_url?: string | null;
}
