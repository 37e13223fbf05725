import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { load as loadYaml } from 'js-yaml';

/**
 * Checks answers against the Matrix specification's own OpenAPI definitions
 * (vendored unchanged in `test/fixtures/matrix-spec-api`, Apache-2.0):
 *
 *   expectMatchesSpec(res, 'sync.yaml', 'get', '/sync');
 *   expectMatchesSpec(res, 'room_state.yaml', 'put', '/rooms/{roomId}/state/{eventType}/{stateKey}');
 *
 * `res` is a supertest response (or anything with `status` and `body`); the schema is the one the
 * spec gives for that operation and that status code (errors included). The file is relative to
 * `api/client-server/` unless it starts with `api/`; the path is the template as written in the
 * file, relative to the file's base path (`/_matrix/client/v3`). An error status the operation does
 * not document (or documents without a body) is checked against the spec's generic error schema (`{"errcode","error"}`).
 *
 * How the definitions are made digestible for ajv (JSON Schema 2020-12):
 * - `$ref`s (relative files and `#/json/pointers`) are inlined; a reference to a schema that is
 *   already being inlined further up (a recursive schema) becomes `{}`, i.e. anything.
 * - `example`/`examples` blocks are dropped before parsing: some are JSON flow collections whose
 *   closing brace is indented like their key, which js-yaml 5 refuses, some `$ref` example files,
 *   and none play a part in validation.
 * - `oneOf` is read as `anyOf`: the spec uses it for alternatives that overlap (GET
 *   `/rooms/{roomId}/state/{eventType}/{stateKey}` answers "an object" or "a state event", and a
 *   state event is also an object), which strict `oneOf` would refuse.
 * - The spec's own formats (`mx-user-id`, `mx-room-id`, ...) are checked with the grammar of the
 *   spec's appendices; `x-pattern-format` on `patternProperties` also checks the keys.
 * - `x-*` annotations are ignored (ajv in non-strict mode).
 */

export const SPEC_DIR = resolve(process.cwd(), 'test/fixtures/matrix-spec-api');
const CLIENT_SERVER = 'api/client-server';
const ERROR_SCHEMA = 'definitions/errors/error.yaml';

type Json = Record<string, unknown>;

const LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;
const SERVER_NAME = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** `<sigil>localpart:server` as the appendices define identifiers (≤ 255 bytes). */
function sigilId(sigil: string, localpart: (s: string) => boolean) {
  return (id: string): boolean => {
    if (!id.startsWith(sigil) || Buffer.byteLength(id) > 255) return false;
    const colon = id.indexOf(':');
    if (colon < 2) return false;
    return localpart(id.slice(1, colon)) && SERVER_NAME.test(id.slice(colon + 1));
  };
}

export const MATRIX_FORMATS: Record<string, (value: string) => boolean> = {
  'mx-user-id': sigilId('@', (l) => LOCALPART.test(l)),
  'mx-room-id': (id) => sigilId('!', () => true)(id) || /^![A-Za-z0-9_-]{43}$/.test(id),
  'mx-room-alias': sigilId('#', (l) => !l.includes('\0')),
  'mx-event-id': (id) => /^\$[^\s]+$/.test(id) && Buffer.byteLength(id) <= 255,
  'mx-server-name': (s) => SERVER_NAME.test(s),
  'mx-mxc-uri': (s) => /^mxc:\/\/[^/]+\/[A-Za-z0-9_-]+$/.test(s),
  'mx-unpadded-base64': (s) => /^[A-Za-z0-9+/]*$/.test(s),
  'mx-urlsafe-unpadded-base64': (s) => /^[A-Za-z0-9_-]*$/.test(s),
};

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv2020,
) => void;
addFormats(ajv);
for (const [name, check] of Object.entries(MATRIX_FORMATS))
  ajv.addFormat(name, { type: 'string', validate: check });

function withoutExamples(text: string): string {
  const out: string[] = [];
  let skipIndent = -1;
  for (const line of text.split('\n')) {
    const indent = line.search(/\S/);
    if (skipIndent >= 0) {
      // Inside the block: deeper lines, blank lines and a closing bracket at the key's own indent.
      if (indent < 0 || indent > skipIndent || (indent === skipIndent && /^\s*[}\]]/.test(line))) continue;
      skipIndent = -1;
    }
    if (/^\s*(example|examples)\s*:/.test(line)) {
      skipIndent = indent;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

const files = new Map<string, unknown>();
function loadFile(file: string): unknown {
  let doc = files.get(file);
  if (doc === undefined) {
    const text = readFileSync(file, 'utf8');
    doc = file.endsWith('.json') ? JSON.parse(text) : loadYaml(withoutExamples(text));
    files.set(file, doc);
  }
  return doc;
}

function pointer(doc: unknown, ptr: string, where: string): unknown {
  let value = doc;
  for (const part of ptr.split('/').filter(Boolean)) {
    value = (value as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (value === undefined) throw new Error(`unresolvable $ref ${where}`);
  }
  return value;
}

/** Inlines $refs and adapts the constructs listed above; `stack` holds the refs being inlined. */
function digest(node: unknown, file: string, stack: string[]): unknown {
  if (Array.isArray(node)) return node.map((n) => digest(n, file, stack));
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Json;
  let out: Json = {};
  if (typeof obj.$ref === 'string') {
    const [path, ptr = ''] = obj.$ref.split('#');
    const target = path ? resolve(dirname(file), path) : file;
    const key = `${target}#${ptr}`;
    if (stack.includes(key)) return {};
    const resolved = pointer(loadFile(target), ptr, `${obj.$ref} in ${relative(SPEC_DIR, file)}`);
    out = { ...(digest(resolved, target, [...stack, key]) as Json) };
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$ref' || k === 'example' || k === 'examples') continue;
    out[k === 'oneOf' ? 'anyOf' : k] = digest(v, file, stack);
  }
  if (typeof out.patternProperties === 'object' && out.patternProperties !== null) {
    for (const sub of Object.values(out.patternProperties as Record<string, Json>)) {
      const format = sub?.['x-pattern-format'];
      if (typeof format === 'string' && format in MATRIX_FORMATS && out.propertyNames === undefined) {
        out.propertyNames = { format };
      }
    }
  }
  return out;
}

function specFile(file: string): string {
  return resolve(SPEC_DIR, file.startsWith('api/') ? file : `${CLIENT_SERVER}/${file}`);
}

const validators = new Map<string, ValidateFunction>();

/** The response schema for an operation and status, compiled (and cached). */
export function responseValidator(
  file: string,
  method: string,
  path: string,
  status: number,
): ValidateFunction {
  const cacheKey = `${file} ${method} ${path} ${status}`;
  let validate = validators.get(cacheKey);
  if (validate) return validate;
  const absolute = specFile(file);
  const doc = loadFile(absolute) as { paths?: Record<string, Record<string, Json>> };
  const operation = doc.paths?.[path]?.[method.toLowerCase()];
  if (!operation) {
    const known = Object.entries(doc.paths ?? {}).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    throw new Error(`${file} has no ${method.toUpperCase()} ${path}; it has: ${known.join(', ')}`);
  }
  const responses = digest(operation.responses, absolute, []) as Record<string, Json>;
  const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  let schema = (response?.content as Record<string, { schema?: Json }> | undefined)?.['application/json']
    ?.schema;
  if (!schema && status >= 400) {
    // Operations list their typical errors only, some without a body schema; any error is still a
    // standard Matrix error.
    schema = digest(loadFile(specFile(ERROR_SCHEMA)), specFile(ERROR_SCHEMA), []) as Json;
  } else if (response && !schema) {
    throw new Error(`${file} ${method.toUpperCase()} ${path} ${status} has no JSON schema`);
  } else if (!schema) {
    throw new Error(
      `${file} ${method.toUpperCase()} ${path} defines no ${status} answer (only ${Object.keys(responses).join(', ')})`,
    );
  }
  validate = ajv.compile(schema);
  validators.set(cacheKey, validate);
  return validate;
}

/** Validates a value against a schema file of the spec, e.g. `event-schemas/schema/m.room.member.yaml`. */
export function schemaValidator(file: string): ValidateFunction {
  const cacheKey = `schema ${file}`;
  let validate = validators.get(cacheKey);
  if (!validate) {
    const absolute = resolve(SPEC_DIR, file);
    validate = ajv.compile(digest(loadFile(absolute), absolute, []) as Json);
    validators.set(cacheKey, validate);
  }
  return validate;
}

/** Every documented (path, method, status) of a spec file, e.g. to check they all compile. */
export function specOperations(file: string): { path: string; method: string; status: number }[] {
  const doc = loadFile(specFile(file)) as { paths?: Record<string, Record<string, { responses?: Json }>> };
  return Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
    Object.entries(ops).flatMap(([method, op]) =>
      Object.keys(op.responses ?? {}).map((status) => ({ path, method, status: Number(status) })),
    ),
  );
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 20)
    .map((e) => `  ${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');
}

/** The spec's complaints about a body (empty when it conforms). */
export function specErrors(
  body: unknown,
  file: string,
  method: string,
  path: string,
  status = 200,
): string[] {
  const validate = responseValidator(file, method, path, status);
  return validate(body) ? [] : describeErrors(validate.errors).split('\n');
}

/** Fails the test unless the answer's body matches the spec's schema for its status code. */
export function expectMatchesSpec(
  res: { status: number; body: unknown },
  file: string,
  method: string,
  path: string,
): void {
  const validate = responseValidator(file, method, path, res.status);
  if (!validate(res.body)) {
    throw new Error(
      `${method.toUpperCase()} ${path} answered ${res.status} with a body that does not match ${file}:\n` +
        `${describeErrors(validate.errors)}\nbody: ${JSON.stringify(res.body, null, 1).slice(0, 4000)}`,
    );
  }
}

/** Fails the test unless the value matches a schema file of the spec. */
export function expectMatchesSchema(value: unknown, file: string): void {
  const validate = schemaValidator(file);
  if (!validate(value)) {
    throw new Error(
      `value does not match ${file}:\n${describeErrors(validate.errors)}\nvalue: ${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
}
