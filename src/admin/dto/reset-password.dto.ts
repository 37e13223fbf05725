import { IsBoolean, IsOptional, IsString } from 'class-validator';

/** POST /_dendrite/admin/resetPassword/{userID} */
export class ResetPasswordDto {
  @IsOptional()
  @IsString()
  password?: string;

  @IsOptional()
  @IsBoolean()
  logout_devices?: boolean;
}
