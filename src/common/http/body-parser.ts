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
  res.status(matrix.status).json(matrix.toJSON());
}

/**
 * Matrix request bodies are JSON objects; reject arrays and scalars before any handler runs. An
 * absent body (js-sdk sends none for /logout and /forget) becomes `{}` so DTO validation reports
 * missing fields instead of seeing `undefined`.
 */
export function requireObjectBody(req: Request, res: Response, next: NextFunction): void {
  if (req.body === undefined) {
    req.body = {};
  } else if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
    const err = M.badJson('Request body must be a JSON object');
    res.status(err.status).json(err.toJSON());
    return;
  }
  next();
}
