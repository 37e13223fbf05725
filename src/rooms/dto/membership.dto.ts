import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of /join and /leave. */
export class ReasonDto {
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  reason?: string;
}

/** Body of /invite, /kick, /ban, /unban. */
export class TargetUserDto extends ReasonDto {
  @IsString()
  user_id: string;
}
