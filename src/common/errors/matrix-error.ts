/**
 * The one Matrix error type. Services throw it through the factories at the bottom; the
 * exception filter renders it as `{"errcode","error",...extra}` with the status from ERRCODE_STATUS.
 */
export type Errcode =
  | 'M_FORBIDDEN'
  | 'M_UNKNOWN_TOKEN'
  | 'M_MISSING_TOKEN'
  | 'M_GUEST_ACCESS_FORBIDDEN'
  | 'M_USER_DEACTIVATED'
  | 'M_BAD_JSON'
  | 'M_NOT_JSON'
  | 'M_NOT_FOUND'
  | 'M_LIMIT_EXCEEDED'
  | 'M_UNRECOGNIZED'
  | 'M_UNKNOWN'
  | 'M_USER_IN_USE'
  | 'M_INVALID_USERNAME'
  | 'M_ROOM_IN_USE'
  | 'M_INVALID_ROOM_STATE'
  | 'M_UNSUPPORTED_ROOM_VERSION'
  | 'M_INVALID_PARAM'
  | 'M_MISSING_PARAM'
  | 'M_WEAK_PASSWORD'
  | 'M_TOO_LARGE'
  | 'M_EXCLUSIVE'
  | 'M_CANNOT_LEAVE_SERVER_NOTICE_ROOM'
  | 'M_UNAUTHORIZED'
  | 'M_INCOMPATIBLE_ROOM_VERSION'
  | 'M_BAD_STATE'
  | 'M_BAD_ALIAS';

/** The single errcode → HTTP status table. Errcodes whose status depends on context (M_UNRECOGNIZED, M_UNKNOWN) carry an explicit status. */
export const ERRCODE_STATUS: Record<Errcode, number> = {
  M_FORBIDDEN: 403,
  M_UNKNOWN_TOKEN: 401,
  M_MISSING_TOKEN: 401,
  M_UNAUTHORIZED: 401,
  M_GUEST_ACCESS_FORBIDDEN: 403,
  M_USER_DEACTIVATED: 403,
  M_CANNOT_LEAVE_SERVER_NOTICE_ROOM: 403,
  M_BAD_JSON: 400,
  M_NOT_JSON: 400,
  M_INVALID_PARAM: 400,
  M_MISSING_PARAM: 400,
  M_WEAK_PASSWORD: 400,
  M_USER_IN_USE: 400,
  M_INVALID_USERNAME: 400,
  M_ROOM_IN_USE: 400,
  M_INVALID_ROOM_STATE: 400,
  M_UNSUPPORTED_ROOM_VERSION: 400,
  M_INCOMPATIBLE_ROOM_VERSION: 400,
  M_EXCLUSIVE: 400,
  M_BAD_STATE: 400,
  M_BAD_ALIAS: 400,
  M_NOT_FOUND: 404,
  M_UNRECOGNIZED: 404,
  M_TOO_LARGE: 413,
  M_LIMIT_EXCEEDED: 429,
  M_UNKNOWN: 500,
};

export class MatrixError extends Error {
  readonly status: number;

  constructor(
    readonly errcode: Errcode,
    message: string,
    status?: number,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
    this.status = status ?? ERRCODE_STATUS[errcode];
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

/** Factories, so call sites read as the Matrix spec does. */
export const M = {
  forbidden: (msg = 'Forbidden') => new MatrixError('M_FORBIDDEN', msg),
  notFound: (msg = 'Not found') => new MatrixError('M_NOT_FOUND', msg),
  badJson: (msg: string) => new MatrixError('M_BAD_JSON', msg),
  notJson: (msg = 'Content not JSON.') => new MatrixError('M_NOT_JSON', msg),
  invalidParam: (msg: string) => new MatrixError('M_INVALID_PARAM', msg),
  missingParam: (msg: string) => new MatrixError('M_MISSING_PARAM', msg),
  missingToken: () => new MatrixError('M_MISSING_TOKEN', 'Missing access token'),
  unknownToken: () => new MatrixError('M_UNKNOWN_TOKEN', 'Unknown access token', 401, { soft_logout: false }),
  guestForbidden: () => new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access is not allowed'),
  notAdmin: () => new MatrixError('M_FORBIDDEN', 'This API can only be used by admin users.'),
  unrecognized: (status = 404) => new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', status),
  weakPassword: (msg = 'password too weak: min 8 characters') => new MatrixError('M_WEAK_PASSWORD', msg),
  userInUse: () => new MatrixError('M_USER_IN_USE', 'Desired user ID is already taken.'),
  invalidUsername: (msg: string) => new MatrixError('M_INVALID_USERNAME', msg),
  unknown: (msg: string, status = 400) => new MatrixError('M_UNKNOWN', msg, status),
  limitExceeded: (retryAfterMs: number) =>
    new MatrixError('M_LIMIT_EXCEEDED', 'Too many requests', 429, { retry_after_ms: retryAfterMs }),
  tooLarge: (msg = 'Request too large') => new MatrixError('M_TOO_LARGE', msg),
  unauthorized: (msg: string) => new MatrixError('M_UNAUTHORIZED', msg),
};
