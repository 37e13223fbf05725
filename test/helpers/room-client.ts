import type { Response } from 'supertest';
import type { TestApp, TestUser } from './test-app.js';

export const CS = '/_matrix/client/v3';

let txnCounter = 0;
/** A transaction ID unique within the test run. */
export const txn = () => `t${Date.now()}.${++txnCounter}`;

/** Fails with the answer's body when the status is not the expected one (clearer than a bare status mismatch). */
export function expectStatus(res: Response, status: number): Response {
  if (res.status !== status) {
    const req = (res as unknown as { req?: { method: string; path: string } }).req;
    throw new Error(`${req?.method} ${req?.path}: expected ${status}, got ${res.status} ${res.text}`);
  }
  return res;
}

/** A user's view of the client-server API through supertest: thin wrappers so tests read as the flows they check. */
const query = (q: Record<string, string | number | boolean>): string => {
  const qs = new URLSearchParams(
    Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return qs ? `?${qs}` : '';
};

export class RoomClient {
  constructor(
    readonly t: TestApp,
    readonly user: TestUser,
  ) {}

  get userId(): string {
    return this.user.userId;
  }

  private auth<T extends { set(name: string, value: string): T }>(req: T): T {
    return req.set('Authorization', `Bearer ${this.user.accessToken}`);
  }

  get(path: string) {
    return this.auth(this.t.http.get(path.startsWith('/_') ? path : CS + path));
  }

  post(path: string, body: object = {}) {
    return this.auth(this.t.http.post(path.startsWith('/_') ? path : CS + path)).send(body);
  }

  put(path: string, body: object = {}) {
    return this.auth(this.t.http.put(path.startsWith('/_') ? path : CS + path)).send(body);
  }

  delete(path: string) {
    return this.auth(this.t.http.delete(path.startsWith('/_') ? path : CS + path));
  }

  async createRoom(body: object = {}): Promise<string> {
    return expectStatus(await this.post('/createRoom', body), 200).body.room_id as string;
  }

  async join(roomIdOrAlias: string): Promise<void> {
    expectStatus(await this.post(`/join/${encodeURIComponent(roomIdOrAlias)}`), 200);
  }

  async invite(roomId: string, userId: string): Promise<void> {
    expectStatus(await this.post(`/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId }), 200);
  }

  async leave(roomId: string): Promise<void> {
    expectStatus(await this.post(`/rooms/${encodeURIComponent(roomId)}/leave`), 200);
  }

  sendRaw(roomId: string, content: object, type = 'm.room.message', txnId = txn()) {
    return this.put(
      `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${txnId}`,
      content,
    );
  }

  async send(roomId: string, body: string, type = 'm.room.message'): Promise<string> {
    const res = expectStatus(await this.sendRaw(roomId, { msgtype: 'm.text', body }, type), 200);
    return res.body.event_id as string;
  }

  stateRaw(roomId: string, type: string, content: object, stateKey = '') {
    return this.put(
      `/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`,
      content,
    );
  }

  async state(roomId: string, type: string, content: object, stateKey = ''): Promise<string> {
    return expectStatus(await this.stateRaw(roomId, type, content, stateKey), 200).body.event_id as string;
  }

  messages(roomId: string, q: Record<string, string | number> = {}) {
    return this.get(`/rooms/${encodeURIComponent(roomId)}/messages${query(q)}`);
  }

  syncRaw(q: Record<string, string | number | boolean> = {}) {
    return this.get(`/sync${query(q)}`);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async sync(query: Record<string, string | number | boolean> = {}): Promise<any> {
    return expectStatus(await this.syncRaw(query), 200).body;
  }
}

/** Registers a user and wraps them. */
export async function client(t: TestApp, localpart: string): Promise<RoomClient> {
  return new RoomClient(t, await t.register(localpart));
}

/** Bodies of the m.room.message events in a list of client events. */
export const bodies = (events: { type: string; content: Record<string, unknown> }[]): unknown[] =>
  events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
