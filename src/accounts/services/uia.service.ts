import { Injectable } from '@nestjs/common';
import { MatrixError } from '../../common/errors/matrix-error.js';
import { RedisService } from '../../database/redis.service.js';
import { randomString } from './tokens.js';

const SESSION_TTL_S = 30 * 60;

export interface UiaAuth {
  type?: unknown;
  session?: unknown;
  [key: string]: unknown;
}

/**
 * User-interactive authentication with single-stage flows. Sessions live in Redis so that the two
 * halves of a flow may hit different API processes.
 */
@Injectable()
export class UiaService {
  constructor(private readonly redis: RedisService) {}

  /**
   * Passes when `auth` completes `stage` (checked by `verify`); otherwise throws the 401 that
   * tells the client what to do next.
   */
  async require(
    auth: UiaAuth | undefined,
    stage: string,
    verify: (auth: UiaAuth) => Promise<boolean>,
  ): Promise<void> {
    if (auth === undefined || auth === null || typeof auth !== 'object') {
      throw await this.challenge(stage);
    }
    let session = typeof auth.session === 'string' ? auth.session : undefined;
    if (session !== undefined && (await this.redis.client.exists(this.key(session))) === 0) {
      throw new MatrixError('M_UNKNOWN', 'Unknown UIA session', 400);
    }
    session ??= await this.newSession();
    if (auth.type !== stage) {
      throw await this.challenge(
        stage,
        session,
        new MatrixError('M_UNRECOGNIZED', `Unsupported auth type ${String(auth.type)}`, 401),
      );
    }
    if (!(await verify(auth))) {
      throw await this.challenge(stage, session, new MatrixError('M_FORBIDDEN', 'Invalid password', 401));
    }
    // Used up here, atomically: of concurrent requests completing one session, a single one passes.
    if ((await this.redis.client.del(this.key(session))) === 0) {
      throw new MatrixError('M_UNKNOWN', 'Unknown UIA session', 400);
    }
  }

  private async challenge(stage: string, session?: string, cause?: MatrixError): Promise<MatrixError> {
    const sid = session ?? (await this.newSession());
    const body = { flows: [{ stages: [stage] }], params: {}, session: sid, completed: [] as string[] };
    if (!cause) return new UiaChallenge(body);
    return new UiaChallenge({ ...body, errcode: cause.errcode, error: cause.message });
  }

  private async newSession(): Promise<string> {
    const session = randomString(24);
    await this.redis.client.set(this.key(session), '1', 'EX', SESSION_TTL_S);
    return session;
  }

  private key(session: string): string {
    return `uia:${session}`;
  }
}

/** The 401 UIA body is not a plain Matrix error: it carries flows and session (and errcode only after a failed stage). */
export class UiaChallenge extends MatrixError {
  constructor(private readonly body: Record<string, unknown>) {
    super(
      (body.errcode as 'M_FORBIDDEN') ?? 'M_FORBIDDEN',
      (body.error as string) ?? 'Authentication required',
      401,
    );
  }

  override toJSON(): Record<string, unknown> {
    return this.body;
  }
}
