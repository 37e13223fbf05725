import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { load as loadYaml } from 'js-yaml';

/** The official OpenAPI definitions of the Matrix spec (vendored unchanged in test/fixtures/matrix-spec-api, Apache-2.0). */
export const SPEC_API_DIR = resolve(process.cwd(), 'test/fixtures/matrix-spec-api/api');

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

/**
 * Drops `example(s)` blocks before parsing: some hold JSON flow collections whose closing brace is
 * indented like their key, which js-yaml 5 refuses, and examples play no part in validation.
 */
function withoutExamples(text: string): string {
  const out: string[] = [];
  let skipIndent = -1;
  for (const line of text.split('\n')) {
    const indent = line.search(/\S/);
    if (skipIndent >= 0) {
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

function load(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.json') ? JSON.parse(text) : loadYaml(withoutExamples(text));
}

/** Inlines every $ref (relative files and JSON pointers) and drops examples, which may hold refs of their own. */
function deref(node: unknown, file: string, root: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => deref(n, file, root));
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Record<string, unknown>;
  let base: Record<string, unknown> = {};
  if (typeof obj.$ref === 'string') {
    const [path, pointer] = obj.$ref.split('#');
    const target = path ? resolve(dirname(file), path) : file;
    const targetRoot = path ? load(target) : root;
    let value = targetRoot;
    for (const part of (pointer ?? '').split('/').filter(Boolean)) {
      value = (value as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    base = deref(value, target, targetRoot) as Record<string, unknown>;
  }
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$ref' || k === 'example' || k === 'examples') continue;
    out[k] = deref(v, file, root);
  }
  return out;
}

/**
 * Validates a response body against the 200 schema of an operation, e.g.
 * `expectSpecResponse('client-server/keys.yaml', '/keys/query', 'post', body)`.
 */
export function expectSpecResponse(
  apiFile: string,
  path: string,
  method: string,
  body: unknown,
  status = '200',
): void {
  const file = resolve(SPEC_API_DIR, apiFile);
  const root = load(file) as { paths: Record<string, Record<string, unknown>> };
  const op = root.paths[path]?.[method] as
    { responses: Record<string, { content?: { 'application/json'?: { schema: unknown } } }> } | undefined;
  const schema = op?.responses[status]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`no ${status} schema for ${method} ${path} in ${apiFile}`);
  const validate = ajv.compile(deref(schema, file, root) as object);
  if (!validate(body)) {
    throw new Error(
      `${method.toUpperCase()} ${path} answer does not match the spec: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body, null, 1)}`,
    );
  }
}

/** Validates a value against a schema file of the spec (e.g. `server-server/definitions/keys.yaml`). */
export function expectSpecSchema(schemaFile: string, value: unknown): void {
  const file = resolve(SPEC_API_DIR, schemaFile);
  const root = load(file);
  const validate = ajv.compile(deref(root, file, root) as object);
  if (!validate(value)) throw new Error(`${schemaFile}: ${ajv.errorsText(validate.errors)}`);
}
