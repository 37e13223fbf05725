import { Controller, Get, Param, Query } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { LATTICE_ADMIN_V1 } from '../../common/http/prefixes.js';
import { AdminOnly } from '../../accounts/auth/authenticated.decorator.js';
import { JobService } from '../../jobs/job.service.js';
import { ListJobsQuery } from '../dto/list-jobs.dto.js';

/** Lattice's own extension: the status of background jobs (evacuations, purges, reindexing, ...). */
@Controller(`${LATTICE_ADMIN_V1}/jobs`)
@AdminOnly()
export class JobsController {
  constructor(private readonly jobs: JobService) {}

  /** GET /_lattice/admin/v1/jobs?type=&state=&limit= */
  @Get()
  async list(@Query() query: ListJobsQuery) {
    return {
      jobs: await this.jobs.list({ type: query.type, state: query.state, limit: query.limit ?? 100 }),
    };
  }

  /** GET /_lattice/admin/v1/jobs/{jobId} */
  @Get(':jobId')
  async get(@Param('jobId') jobId: string) {
    const status = await this.jobs.status(jobId);
    if (!status) throw M.notFound(`No job ${jobId}`);
    return status;
  }
}
