import { stateKey, type Pdu } from '../events/pdu.js';
import { RoomStateCache, type StateEvent, type StateKeyPair } from './room-state-cache.js';

const ev = (
  id: string,
  type: string,
  stateKey: string,
  content: Record<string, unknown> = {},
): StateEvent => ({
  event_id: id,
  pdu: { type, state_key: stateKey, content, sender: '@a:x', room_id: '!r:x' } as unknown as Pdu,
});
const key = (type: string, stateKey = ''): StateKeyPair => [type, stateKey];
const entries = (...events: [string, string, StateEvent | null][]) =>
  new Map(events.map(([type, k, e]) => [stateKey(type, k), e]));

describe('RoomStateCache', () => {
  const create = ev('$c', 'm.room.create', '');
  const power = ev('$p', 'm.room.power_levels', '');
  const alice = ev('$m', 'm.room.member', '@a:x', { membership: 'join' });
  const needed = [key('m.room.create'), key('m.room.power_levels'), key('m.room.member', '@a:x')];

  /** A cache that knows !r at $head: create, power levels, alice joined, bob absent. */
  function primed(): RoomStateCache {
    const cache = new RoomStateCache();
    cache.remember(
      '!r',
      null,
      '$head',
      entries(
        ['m.room.create', '', create],
        ['m.room.power_levels', '', power],
        ['m.room.member', '@a:x', alice],
        ['m.room.member', '@b:x', null],
      ),
    );
    return cache;
  }

  it('asks for every key of a room it does not know, and only unknown keys of one it does', () => {
    expect(new RoomStateCache().keysToRead('!r', needed)).toEqual(needed);
    const cache = primed();
    expect(
      cache.keysToRead('!r', [...needed, key('m.room.member', '@b:x'), key('m.room.join_rules')]),
    ).toEqual([key('m.room.join_rules')]);
  });

  it('answers from the cache and the keys just read while the room is still at the remembered event', () => {
    const rules = ev('$j', 'm.room.join_rules', '');
    const state = primed().resolve(
      '!r',
      '$head',
      [...needed, key('m.room.member', '@b:x'), key('m.room.join_rules')],
      [key('m.room.join_rules')],
      [rules],
    );
    expect(state?.map((e) => e.event_id).sort()).toEqual(['$c', '$j', '$m', '$p']);
  });

  it('cannot vouch for a room that moved on since, nor for keys it no longer holds', () => {
    const cache = primed();
    expect(cache.resolve('!r', '$other', needed, [], [])).toBeNull();
    expect(cache.resolve('!r', '$head', [...needed, key('m.room.topic')], [], [])).toBeNull();
    cache.forget('!r');
    expect(cache.resolve('!r', '$head', needed, [], [])).toBeNull();
    // All keys read: nothing to vouch for.
    expect(cache.resolve('!r', '$other', needed, needed, [create])).toEqual([create]);
  });

  it('keeps what it knew when the room moves on through this process, and drops it otherwise', () => {
    const cache = primed();
    const newPower = ev('$p2', 'm.room.power_levels', '');
    cache.remember('!r', '$head', '$p2', entries(['m.room.power_levels', '', newPower]));
    expect(
      cache
        .resolve('!r', '$p2', needed, [], [])
        ?.map((e) => e.event_id)
        .sort(),
    ).toEqual(['$c', '$m', '$p2']);
    // Remembered on top of a head the cache did not hold: only the update is trusted.
    cache.remember('!r', '$elsewhere', '$x', entries(['m.room.power_levels', '', newPower]));
    expect(cache.resolve('!r', '$x', needed, [], [])).toBeNull();
    expect(cache.resolve('!r', '$x', [key('m.room.power_levels')], [], [])).toEqual([newPower]);
  });
});
