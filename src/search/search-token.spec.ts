import { MatrixError } from '../common/errors/matrix-error.js';
import { formatSearchToken, parseSearchToken, withPrefixMatching } from './search-token.js';

describe('search tokens', () => {
  it('round-trip, keeping a float4 rank exact', () => {
    const rank = Math.fround(0.0607927);
    for (const token of [
      { order: 'rank' as const, pos: 42, rank },
      { order: 'recent' as const, pos: 7, room: '!r:hs' },
      { order: 'recent' as const, pos: 7, sender: '@a:hs' },
    ]) {
      expect(parseSearchToken(formatSearchToken(token))).toEqual(token);
    }
  });

  it.each([
    ['not base64 JSON', 'not-a-token'],
    ['an array', Buffer.from('[]').toString('base64url')],
    ['an unknown order', Buffer.from('{"o":"oldest","p":1}').toString('base64url')],
    ['a rank token without rank', Buffer.from('{"o":"rank","p":1}').toString('base64url')],
    ['a negative position', Buffer.from('{"o":"recent","p":-1}').toString('base64url')],
    ['a NUL in the room', Buffer.from('{"o":"recent","p":1,"room":"!\\u0000"}').toString('base64url')],
  ])('refuses %s with M_INVALID_PARAM', (_what, text) => {
    expect(() => parseSearchToken(text)).toThrow(MatrixError);
    try {
      parseSearchToken(text);
    } catch (err) {
      expect((err as MatrixError).errcode).toBe('M_INVALID_PARAM');
    }
  });
});

describe('withPrefixMatching', () => {
  it.each([
    ["'deploy'", "'deploy':*"],
    ["'deploy' & 'fix'", "'deploy':* & 'fix':*"],
    ["'exact' <-> 'phrase'", "'exact':* <-> 'phrase':*"],
    ["'cat' & !'dog'", "'cat':* & !'dog'"],
    ["'ab' | 'abc'", "'ab' | 'abc':*"],
    ["'it''s'", "'it''s':*"],
    ["'日本語'", "'日本語':*"],
  ])('%s becomes %s', (input, output) => {
    expect(withPrefixMatching(input)).toBe(output);
  });
});
