import type { FastifyInstance, FastifyRequest } from 'fastify';
import { M } from '../errors/matrix-error.js';

export const MAX_BODY_BYTES = 1024 * 1024;

const MEDIA_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(;|$)/;

/**
 * Matrix bodies are JSON whatever the Content-Type says (clients often send none), so every
 * non-empty body is parsed as JSON: a parse failure is M_NOT_JSON; a top-level value that is not
 * an object, or absurdly deep nesting (see tooDeep), is M_BAD_JSON. An absent or empty body (js-sdk
 * sends none for /logout and /forget) becomes `{}` so DTO validation reports missing fields instead
 * of seeing `undefined`. (Too large a body is refused by Fastify's bodyLimit; MatrixExceptionFilter
 * answers M_TOO_LARGE.)
 */
export function registerJsonBody(fastify: FastifyInstance): void {
  // A Content-Type that is not `type/subtype` (`json`, empty) would be refused by Fastify before
  // any parser: dropped, so that the body is read as JSON like any other.
  fastify.addHook('onRequest', (req, _reply, done) => {
    const type = req.headers['content-type'];
    if (type !== undefined && !MEDIA_TYPE.test(type)) delete req.headers['content-type'];
    done();
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (req, text, done) => {
    try {
      checkEncoding(req);
      done(null, parseBody(text as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  fastify.addHook('preValidation', (req: FastifyRequest, _reply, done) => {
    if (req.body === undefined) req.body = {};
    done();
  });
}

/** Bodies are read as UTF-8 text as sent: other charsets and any compression are refused. */
function checkEncoding(req: FastifyRequest): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw M.notJson(`Unsupported Content-Encoding: ${encoding}`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw M.notJson(`Unsupported charset: ${charset}`);
  }
}

export function parseBody(text: string): Record<string, unknown> {
  // A UTF-8 byte-order mark is not part of the JSON text.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw M.notJson('Content not JSON.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw M.badJson('Request body must be a JSON object');
  }
  if (tooDeep(body)) throw M.badJson(`JSON is nested deeper than ${MAX_BODY_DEPTH} levels`);
  // Only an escape can put a surrogate in: text decoded from UTF-8 never holds a lone one.
  if (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(body)) {
    throw M.badJson('JSON strings must be Unicode text: a lone UTF-16 surrogate (\\uD800–\\uDFFF) was sent');
  }
  return body as Record<string, unknown>;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether any string or key holds a UTF-16 surrogate that is not half of a pair. `"\\ud800"` is
 * valid JSON but no character: it has no UTF-8 form, so it cannot be in canonical JSON (hashes and
 * signatures) and PostgreSQL's json and jsonb refuse it (a 500 wherever such a value was stored).
 */
export function hasLoneSurrogate(body: unknown): boolean {
  const pending: unknown[] = [body];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return true;
    } else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        if (LONE_SURROGATE.test(key)) return true;
        pending.push(child);
      }
    }
  }
  return false;
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
