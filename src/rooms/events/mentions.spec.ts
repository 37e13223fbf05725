import { highlights } from './mentions.js';

const bob = '@bob:example.org';

describe('highlights (default push rules)', () => {
  it('follows m.mentions when the message has it, and only then', () => {
    expect(highlights({ body: 'hi', 'm.mentions': { user_ids: [bob] } }, bob, 'Bob')).toBe(true);
    expect(highlights({ body: 'hi Bob', 'm.mentions': { user_ids: ['@carol:x'] } }, bob, 'Bob')).toBe(false);
    expect(highlights({ body: 'hi Bob', 'm.mentions': {} }, bob, 'Bob')).toBe(false);
  });

  it('falls back on the display name or localpart as a whole word, in any case', () => {
    expect(highlights({ body: 'ask bob about it' }, bob, null)).toBe(true);
    expect(highlights({ body: 'Ping, Robert Smith!' }, bob, 'Robert Smith')).toBe(true);
    expect(highlights({ body: 'bobsleigh today' }, bob, null)).toBe(false);
    expect(highlights({ body: 'kabob' }, bob, null)).toBe(false);
    expect(highlights({ body: 'no one here' }, bob, 'Bob')).toBe(false);
  });

  it('takes names with regex characters literally', () => {
    expect(highlights({ body: 'hello (b.o.b)+ there' }, bob, '(b.o.b)+')).toBe(true);
    expect(highlights({ body: 'hello bxoxb there' }, '@zed:x', 'b.o.b')).toBe(false);
  });

  it('never highlights notices or bodiless content', () => {
    expect(
      highlights({ msgtype: 'm.notice', body: 'bob', 'm.mentions': { user_ids: [bob] } }, bob, 'Bob'),
    ).toBe(false);
    expect(highlights({ msgtype: 'm.image' }, bob, 'Bob')).toBe(false);
  });
});
