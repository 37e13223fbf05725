import { M } from '../common/errors/matrix-error.js';

/**
 * Where a page of search results ended: the ordering it belongs to, the last hit's stream
 * position (and rank, when ordering by rank), and optionally the room or sender a group's
 * next_batch is restricted to. Sent to clients as opaque base64url JSON.
 */
export interface SearchToken {
  order: 'rank' | 'recent';
  pos: number;
  rank?: number;
  room?: string;
  sender?: string;
}

export function formatSearchToken(token: SearchToken): string {
  const wire = {
    o: token.order,
    p: token.pos,
    ...(token.rank !== undefined ? { r: token.rank } : {}),
    ...(token.room !== undefined ? { room: token.room } : {}),
    ...(token.sender !== undefined ? { sender: token.sender } : {}),
  };
  return Buffer.from(JSON.stringify(wire)).toString('base64url');
}

export function parseSearchToken(text: string): SearchToken {
  const invalid = () => M.invalidParam('Invalid next_batch');
  let wire: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
    wire = parsed as Record<string, unknown>;
  } catch {
    throw invalid();
  }
  const { o, p, r, room, sender } = wire;
  if (o !== 'rank' && o !== 'recent') throw invalid();
  if (!Number.isSafeInteger(p) || (p as number) < 0) throw invalid();
  if (o === 'rank' && (typeof r !== 'number' || !Number.isFinite(r))) throw invalid();
  // A room or user ID never holds NUL (and PostgreSQL could not compare one).
  if (room !== undefined && (typeof room !== 'string' || room.includes('\0'))) throw invalid();
  if (sender !== undefined && (typeof sender !== 'string' || sender.includes('\0'))) throw invalid();
  return {
    order: o,
    pos: p as number,
    ...(o === 'rank' ? { rank: r as number } : {}),
    ...(room !== undefined ? { room: room as string } : {}),
    ...(sender !== undefined ? { sender: sender as string } : {}),
  };
}

/**
 * Turns the lexemes of a tsquery (as websearch_to_tsquery prints it) into prefix matches, so
 * "deploy" also finds "deployment" and a half-typed word finds the whole one. Lexemes shorter
 * than three characters stay exact (a one-letter prefix matches most of the index), and so do
 * negated ones ("-draft" should not also exclude "drafting").
 */
export function withPrefixMatching(tsquery: string): string {
  return tsquery.replace(/'((?:[^']|'')*)'/g, (lexeme: string, body: string, offset: number) => {
    const negated = tsquery[offset - 1] === '!';
    const length = [...body.replace(/''/g, "'")].length;
    return negated || length < 3 ? lexeme : `${lexeme}:*`;
  });
}
