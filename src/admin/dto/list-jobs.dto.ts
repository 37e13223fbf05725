import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { PUBLIC_JOB_STATES, type PublicJobState } from '../../jobs/job-status.js';

/** GET /_lattice/admin/v1/jobs query. */
export class ListJobsQuery {
  @IsOptional()
  @IsString()
  type?: string;

  @IsOptional()
  @IsIn(PUBLIC_JOB_STATES as PublicJobState[])
  state?: PublicJobState;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
