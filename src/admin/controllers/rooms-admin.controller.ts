import { Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DENDRITE_ADMIN } from '../../common/http/prefixes.js';
import { AdminOnly } from '../../accounts/auth/authenticated.decorator.js';
import { RoomOperationsService } from '../services/room-operations.service.js';

/** The header that carries the ID of the job behind a synchronous admin answer. */
export const JOB_ID_HEADER = 'X-Lattice-Job-Id';

/** Dendrite's room admin endpoints, run as durable background jobs. */
@Controller(DENDRITE_ADMIN)
@AdminOnly()
export class RoomsAdminController {
  constructor(private readonly operations: RoomOperationsService) {}

  /** POST /_dendrite/admin/evacuateRoom/{roomID} */
  @Post('evacuateRoom/:roomId')
  @HttpCode(200)
  async evacuateRoom(@Param('roomId') roomId: string, @Res({ passthrough: true }) res: FastifyReply) {
    const { jobId, result } = await this.operations.evacuateRoom(roomId);
    void res.header(JOB_ID_HEADER, jobId);
    return result;
  }

  /** POST /_dendrite/admin/evacuateUser/{userID} */
  @Post('evacuateUser/:userId')
  @HttpCode(200)
  async evacuateUser(@Param('userId') userId: string, @Res({ passthrough: true }) res: FastifyReply) {
    const { jobId, result } = await this.operations.evacuateUser(userId);
    void res.header(JOB_ID_HEADER, jobId);
    return result;
  }

  /** POST /_dendrite/admin/purgeRoom/{roomID} */
  @Post('purgeRoom/:roomId')
  @HttpCode(200)
  async purgeRoom(@Param('roomId') roomId: string, @Res({ passthrough: true }) res: FastifyReply) {
    const { jobId } = await this.operations.purgeRoom(roomId);
    void res.header(JOB_ID_HEADER, jobId);
    return { job_id: jobId };
  }
}
