import { escapeLiteral } from 'pg';

/**
 * A text[] literal, for statements sent with literal values (a transaction's opening statements,
 * see SqlService.transaction). The values must not contain NUL, which PostgreSQL text cannot hold.
 */
export const textArray = (values: string[]): string =>
  `ARRAY[${values.map(escapeLiteral).join(',')}]::text[]`;
