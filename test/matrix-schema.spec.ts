import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  MATRIX_FORMATS,
  SPEC_DIR,
  expectMatchesSpec,
  responseValidator,
  specErrors,
  specOperations,
} from './helpers/matrix-schema.js';

/** The schema helper itself: it must compile the spec and must refuse what the spec refuses. */
describe('matrix-schema helper', () => {
  it('compiles the response schemas of every client-server operation', () => {
    const dir = resolve(SPEC_DIR, 'api/client-server');
    const failures: string[] = [];
    let compiled = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      for (const { path, method, status } of specOperations(file)) {
        try {
          responseValidator(file, method, path, status);
          compiled++;
        } catch (err) {
          if (!/has no JSON schema/.test((err as Error).message))
            failures.push(`${file} ${method} ${path} ${status}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(compiled).toBeGreaterThan(200);
  });

  it('accepts a minimal valid /sync answer and refuses one without next_batch', () => {
    expectMatchesSpec({ status: 200, body: { next_batch: 's1' } }, 'sync.yaml', 'get', '/sync');
    expect(specErrors({ rooms: {} }, 'sync.yaml', 'get', '/sync').join()).toMatch(/next_batch/);
  });

  it('checks nested event schemas (a timeline event without event_id fails)', () => {
    const room = (event: Record<string, unknown>) => ({
      next_batch: 's2',
      rooms: { join: { '!r:hs': { timeline: { events: [event], limited: false } } } },
    });
    const good = {
      type: 'm.room.message',
      sender: '@a:hs',
      event_id: '$e',
      origin_server_ts: 1,
      content: {},
    };
    expect(specErrors(room(good), 'sync.yaml', 'get', '/sync')).toEqual([]);
    const { event_id: _id, ...noId } = good;
    expect(specErrors(room(noId), 'sync.yaml', 'get', '/sync').join()).toMatch(/event_id/);
  });

  it('checks room ID keys and Matrix formats', () => {
    const body = { next_batch: 's', rooms: { join: { 'not-a-room': {} } } };
    expect(specErrors(body, 'sync.yaml', 'get', '/sync')).not.toEqual([]);
    expect(specErrors({ room_id: 'nope' }, 'create_room.yaml', 'post', '/createRoom').join()).toMatch(
      /format/,
    );
    expect(MATRIX_FORMATS['mx-user-id']('@alice:hs')).toBe(true);
    expect(MATRIX_FORMATS['mx-user-id']('alice')).toBe(false);
    expect(MATRIX_FORMATS['mx-room-alias']('#a:hs:8448')).toBe(true);
    expect(MATRIX_FORMATS['mx-event-id']('$abc')).toBe(true);
  });

  it('validates error answers against the documented or the generic error schema', () => {
    expectMatchesSpec(
      { status: 400, body: { errcode: 'M_UNKNOWN', error: 'no' } },
      'room_send.yaml',
      'put',
      '/rooms/{roomId}/send/{eventType}/{txnId}',
    );
    expectMatchesSpec(
      { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'no' } },
      'room_send.yaml',
      'put',
      '/rooms/{roomId}/send/{eventType}/{txnId}',
    );
    expect(() =>
      expectMatchesSpec(
        { status: 403, body: { error: 'no' } },
        'room_send.yaml',
        'put',
        '/rooms/{roomId}/send/{eventType}/{txnId}',
      ),
    ).toThrow(/errcode/);
  });

  it('accepts both forms of GET state/{type}/{key} (content or the whole event)', () => {
    const path = '/rooms/{roomId}/state/{eventType}/{stateKey}';
    expectMatchesSpec({ status: 200, body: { name: 'x' } }, 'rooms.yaml', 'get', path);
    expectMatchesSpec(
      {
        status: 200,
        body: {
          type: 'm.room.name',
          state_key: '',
          content: { name: 'x' },
          sender: '@a:hs',
          event_id: '$e',
          origin_server_ts: 1,
          room_id: '!r:hs',
        },
      },
      'rooms.yaml',
      'get',
      path,
    );
  });

  it('names the operations of a file when the one asked for does not exist', () => {
    expect(() => responseValidator('sync.yaml', 'post', '/sync', 200)).toThrow(/GET \/sync/);
  });
});
