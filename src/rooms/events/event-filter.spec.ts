import { matchesType } from './event-filter.js';

// Filter type patterns (spec: "A '*' can be used as a wildcard to match any sequence of characters").

describe('matchesType', () => {
  it('without a star, matches the type exactly', () => {
    expect(matchesType('m.room.message', 'm.room.message')).toBe(true);
    expect(matchesType('m.room.message', 'm.room.messag')).toBe(false);
    expect(matchesType('m.room.messag', 'm.room.message')).toBe(false);
    expect(matchesType('M.room.message', 'm.room.message')).toBe(false);
  });

  it('a trailing star matches any suffix, including none', () => {
    expect(matchesType('m.room.member', 'm.room.*')).toBe(true);
    expect(matchesType('m.room.', 'm.room.*')).toBe(true);
    expect(matchesType('m.roomx', 'm.room.*')).toBe(false);
    expect(matchesType('org.m.room.member', 'm.room.*')).toBe(false);
  });

  it('a leading star matches any prefix', () => {
    expect(matchesType('m.room.member', '*.member')).toBe(true);
    expect(matchesType('.member', '*.member')).toBe(true);
    expect(matchesType('m.room.members', '*.member')).toBe(false);
  });

  it('a star in the middle matches any run between the fixed ends', () => {
    expect(matchesType('m.room.message', 'm.*.message')).toBe(true);
    expect(matchesType('m..message', 'm.*.message')).toBe(true);
    expect(matchesType('m.message', 'm.*.message')).toBe(false);
  });

  it('several stars, adjacent stars, and text repeated after a star', () => {
    expect(matchesType('m.room.message', 'm*r*m*e')).toBe(true);
    expect(matchesType('m.room.message', '*room*age')).toBe(true);
    expect(matchesType('m.room.message', 'm**.message')).toBe(true);
    expect(matchesType('abcabcabd', '*abd')).toBe(true);
    expect(matchesType('aaab', 'a*ab')).toBe(true);
    expect(matchesType('m.room.message', 'm*r*x*e')).toBe(false);
    expect(matchesType('m.room.message', '*room*mess')).toBe(false);
  });

  it('the empty pattern matches only the empty type; a lone star matches anything', () => {
    expect(matchesType('', '')).toBe(true);
    expect(matchesType('m.room.message', '')).toBe(false);
    expect(matchesType('', 'a')).toBe(false);
    expect(matchesType('', '*')).toBe(true);
    expect(matchesType('', '***')).toBe(true);
    expect(matchesType('m.room.message', '*')).toBe(true);
    expect(matchesType('line\nbreak', '*')).toBe(true);
  });

  it('characters special in regular expressions are literal', () => {
    for (const c of ['.', '+', '?', '(', ')', '[', ']', '{', '}', '\\', '$', '^', '|']) {
      expect(matchesType(`a${c}b`, `a${c}*`)).toBe(true);
      expect(matchesType(`a${c}b`, `*${c}b`)).toBe(true);
      expect(matchesType('axb', `a${c}*`)).toBe(false);
    }
    expect(matchesType('m.room.message', 'm.room.messag.')).toBe(false);
    expect(matchesType('mxroom.message', 'm.room.*')).toBe(false);
    expect(matchesType('aaa', 'a+')).toBe(false);
    expect(matchesType('a+', 'a+')).toBe(true);
    expect(matchesType('ab', '[ab]*')).toBe(false);
    expect(matchesType('x', '.?')).toBe(false);
  });

  // A backtracking RegExp takes minutes on this (it blocks the event loop, so jest cannot time out
  // until it ends); the matcher must answer at once.
  it('a many-star pattern that cannot match a long type fails fast', () => {
    const type = 'a'.repeat(255);
    expect(matchesType(type, 'a*a*a*a*a*a*a*a*b')).toBe(false);
    expect(matchesType(type, 'a*a*a*a*a*a*a*a*a')).toBe(true);
    expect(matchesType(type + 'b', 'a*a*a*a*a*a*a*a*b')).toBe(true);
  }, 5000);
});
