import { Global, Module } from '@nestjs/common';
import { ServerKeyService } from './crypto/server-key.service.js';

/** Cross-cutting services with no domain of their own: the server's signing key. */
@Global()
@Module({ providers: [ServerKeyService], exports: [ServerKeyService] })
export class CommonModule {}
