import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  // The spec's published vectors (appendices, canonical JSON).
  const vectors: [unknown, string][] = [
    [{}, '{}'],
    [{ one: 1, two: 'Two' }, '{"one":1,"two":"Two"}'],
    [{ b: '2', a: '1' }, '{"a":"1","b":"2"}'],
    [
      {
        auth: {
          success: true,
          mxid: '@john.doe:example.com',
          profile: {
            display_name: 'John Doe',
            three_pids: [
              { medium: 'email', address: 'john.doe@example.org' },
              { medium: 'msisdn', address: '123456789' },
            ],
          },
        },
      },
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ],
    [{ a: '日本語' }, '{"a":"日本語"}'],
    [{ 本: 2, 日: 1 }, '{"日":1,"本":2}'],
    [{ a: '\u65E5' }, '{"a":"日"}'],
    [{ a: null }, '{"a":null}'],
    [{ a: -0, b: 1e10 }, '{"a":0,"b":10000000000}'],
  ];

  it.each(vectors)('encodes %j', (input, expected) => {
    expect(canonicalJson(input)).toBe(expected);
  });

  it('escapes control characters in lower-case \\u form', () => {
    expect(canonicalJson({ a: '\u0001\n' })).toBe('{"a":"\\u0001\\n"}');
  });

  it('orders keys by code point, not UTF-16 unit', () => {
    // U+FF61 sorts before U+1F600 by code point but after it by UTF-16 units.
    expect(canonicalJson({ '\u{1F600}': 1, '\uFF61': 2 })).toBe('{"\uFF61":2,"\u{1F600}":1}');
  });

  it('refuses floats and numbers outside the safe integer range', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/integers/);
    expect(() => canonicalJson({ a: 2 ** 53 })).toThrow(/integers/);
  });
});
