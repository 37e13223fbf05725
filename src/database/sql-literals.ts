import { escapeLiteral } from 'pg';

/**
 * A text[] literal, for statements sent with literal values (a transaction's opening statements,
 * see SqlService.transaction). The values must not contain NUL, which PostgreSQL text cannot hold.
 */
export const textArray = (values: string[]): string =>
  `ARRAY[${values.map(escapeLiteral).join(',')}]::text[]`;

/**
 * SQL that reads a stored PDU (canonical JSON text) as json. Event content may hold NUL, escaped
 * as \u0000, which PostgreSQL's json and jsonb refuse anywhere in a document (text cannot hold
 * NUL): those escapes are dropped first. Escaped backslashes become \u005c before that, so that
 * text that spells out "\u0000" is left as it is.
 */
export const pduJson = (column: string): string =>
  `replace(replace(${column}, '\\\\', '\\u005c'), '\\u0000', '')::json`;
