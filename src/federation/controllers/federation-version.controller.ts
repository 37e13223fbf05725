import { Controller, Get } from '@nestjs/common';

export const SERVER_SOFTWARE = { name: 'Lattice', version: '0.1.0' };

/** What software this server runs (no authentication, as the spec says). */
@Controller('_matrix/federation/v1')
export class FederationVersionController {
  /** GET /_matrix/federation/v1/version */
  @Get('version')
  version() {
    return { server: SERVER_SOFTWARE };
  }
}
