/**
 * Whether a message's content highlights a user under the spec's default push rules:
 * `.m.rule.is_user_mention` (its `m.mentions.user_ids` lists them) or, for a message without
 * `m.mentions` (older clients), `.m.rule.contains_display_name` and `.m.rule.contains_user_name`
 * (the display name or the localpart as a whole word of the body, in any case). Notices never
 * highlight (`.m.rule.suppress_notices` comes first). Room mentions, which depend on the sender's
 * power level, are not counted.
 */
export function highlights(
  content: Record<string, unknown>,
  userId: string,
  displayName: string | null,
): boolean {
  if (content.msgtype === 'm.notice') return false;
  const intentional = content['m.mentions'];
  if (intentional !== undefined) {
    const ids = (intentional as { user_ids?: unknown } | null)?.user_ids;
    return Array.isArray(ids) && ids.includes(userId);
  }
  const body = content.body;
  if (typeof body !== 'string') return false;
  const localpart = userId.slice(1, userId.indexOf(':'));
  return [displayName, localpart].some((name) => !!name && containsWord(body, name));
}

/** `word` in `text` with no letter, digit or underscore right before or after it, in any case. */
function containsWord(text: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escaped}($|[^\\p{L}\\p{N}_])`, 'iu').test(text);
}
