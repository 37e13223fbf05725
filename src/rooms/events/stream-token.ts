import { M } from '../../common/errors/matrix-error.js';

/**
 * Tokens are stream positions, `s<pos>`: a point between events, "after everything at or below pos".
 * /sync's next_batch, a timeline's prev_batch and /messages' start/end all use this one form.
 */
export function formatToken(pos: number): string {
  return `s${pos}`;
}

export function parseToken(token: string, name = 'token'): number {
  const m = /^[st](\d{1,16})$/.exec(token);
  if (!m) throw M.invalidParam(`Invalid ${name}: ${token}`);
  return Number(m[1]);
}
