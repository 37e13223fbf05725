import express, { type NextFunction, type Request, type Response } from 'express';
import { M, type MatrixError } from '../errors/matrix-error.js';

const MAX_BODY = '1mb';

/**
 * Matrix bodies are JSON whatever the Content-Type says (clients often send none), so parse every
 * non-empty body as JSON. Parse failures become M_NOT_JSON; a top-level value that is not an
 * object becomes M_BAD_JSON.
 */
export const jsonBodyParser = express.json({ limit: MAX_BODY, strict: false, type: () => true });

export function bodyParserErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const e = err as { type?: string; status?: number; message?: string };
  let matrix: MatrixError | undefined;
  if (e?.type === 'entity.parse.failed') matrix = M.notJson('Content not JSON.');
  else if (e?.type === 'entity.too.large') matrix = M.tooLarge('Request body too large');
  else if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported')
    matrix = M.notJson('Unsupported body encoding');
  else if (e?.type === 'request.aborted') matrix = M.badJson('Request aborted');
  else if (e?.status && e.status >= 400 && e.status < 500) matrix = M.badJson(e.message ?? 'Bad request');
  if (!matrix) return next(err);
  reply(res, matrix);
}

/**
 * Matrix request bodies are JSON objects; reject arrays and scalars before any handler runs, and
 * absurdly deep nesting (see tooDeep). An absent body (js-sdk sends none for /logout and /forget)
 * becomes `{}` so DTO validation reports missing fields instead of seeing `undefined`.
 */
export function requireObjectBody(req: Request, res: Response, next: NextFunction): void {
  if (req.body === undefined) {
    req.body = {};
  } else if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
    return reply(res, M.badJson('Request body must be a JSON object'));
  } else if (tooDeep(req.body)) {
    return reply(res, M.badJson(`JSON is nested deeper than ${MAX_BODY_DEPTH} levels`));
  }
  next();
}

const MAX_BODY_DEPTH = 100;

/**
 * Whether a parsed body nests deeper than any Matrix API needs. Deep nesting overflows the stacks
 * of JSON.stringify, class-transformer and PostgreSQL's jsonb parser (500s); this check is
 * iterative so that a hostile body cannot overflow it too.
 */
export function tooDeep(body: unknown): boolean {
  const pending: [unknown, number][] = [[body, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_BODY_DEPTH) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}

function reply(res: Response, error: MatrixError): void {
  res.status(error.status).json(error.toJSON());
}
