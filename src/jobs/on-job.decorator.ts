import { SetMetadata } from '@nestjs/common';
import type { JobName } from './job.types.js';

export const ON_JOB = 'lattice:on-job';

/** Marks the service method that runs a job: `(payload, ctx: JobContext) => Promise<result>`. */
export const OnJob = (name: JobName) => SetMetadata(ON_JOB, name);
