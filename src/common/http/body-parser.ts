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
 * bodies no handler could store (see unstorable). An absent body (js-sdk sends none for /logout
 * and /forget) becomes `{}` so DTO validation reports missing fields instead of seeing `undefined`.
 */
export function requireObjectBody(req: Request, res: Response, next: NextFunction): void {
  if (req.body === undefined) {
    req.body = {};
  } else if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
    return reply(res, M.badJson('Request body must be a JSON object'));
  } else {
    const problem = unstorable(req.body);
    if (problem) return reply(res, M.badJson(problem));
  }
  next();
}

/**
 * A NUL in a path segment or query parameter (`%00`) would reach PostgreSQL, which refuses NUL in
 * text, as a 500; no Matrix identifier or parameter can contain one.
 */
export function rejectNulInUrl(req: Request, res: Response, next: NextFunction): void {
  if (req.originalUrl.includes('%00')) {
    return reply(res, M.invalidParam('NUL characters (%00) are not allowed in the request path or query'));
  }
  next();
}

const MAX_BODY_DEPTH = 100;

/**
 * Why a parsed body cannot be handled: PostgreSQL refuses NUL characters in text and jsonb, and
 * very deep nesting overflows the stacks of JSON.stringify and of PostgreSQL's jsonb parser.
 * Iterative, so a hostile body cannot overflow this check either.
 */
export function unstorable(body: unknown): string | null {
  const pending: [unknown, number][] = [[body, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) return 'NUL characters (\\u0000) are not allowed';
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= MAX_BODY_DEPTH) return `JSON is nested deeper than ${MAX_BODY_DEPTH} levels`;
      for (const [key, child] of Object.entries(value)) {
        if (key.includes('\0')) return 'NUL characters (\\u0000) are not allowed';
        pending.push([child, depth + 1]);
      }
    }
  }
  return null;
}

function reply(res: Response, error: MatrixError): void {
  res.status(error.status).json(error.toJSON());
}
