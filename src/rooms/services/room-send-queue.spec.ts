import { CommitOutcomeUnknownError } from '../../database/sql.service.js';
import type { StoredEvent } from '../events/pdu.js';
import { RoomSendQueue, type PersistedBatch, type QueuedWriter } from './room-send-queue.js';
import type { EventDraft, SendResult } from './room-writer.service.js';

// The group-commit queue's rules, with a writer that records calls and answers when told to.

const draft = (body: string): EventDraft => ({
  type: 'm.room.message',
  sender: '@u:hs',
  content: { body },
});

const eventFor = (roomId: string, d: EventDraft): StoredEvent =>
  ({ event_id: `$${roomId}/${String(d.content.body)}` }) as unknown as StoredEvent;

/** A writer whose writes finish only when the test releases them. */
class FakeWriter implements QueuedWriter {
  readonly calls: string[] = [];
  /** Drafts with these bodies are refused by the auth rules. */
  refuse = new Set<string>();
  private releases: (() => void)[] = [];

  persistRooms(batches: { roomId: string; drafts: EventDraft[] }[]): Promise<PersistedBatch[]> {
    this.calls.push(
      `batch ${batches.map((b) => `${b.roomId}[${b.drafts.map((d) => d.content.body).join(',')}]`).join(' ')}`,
    );
    const bodies = batches.flatMap((b) => b.drafts.map((d) => String(d.content.body)));
    return this.later(() => {
      // A body of "boom" fails the transaction (an event too large); "lost" loses the commit's answer.
      if (bodies.includes('boom')) throw new Error('rolled back');
      if (bodies.includes('lost')) throw new CommitOutcomeUnknownError(new Error('connection lost'));
      return batches.map((b) => {
        const refused = b.drafts.filter((d) => this.refuse.has(String(d.content.body)));
        return {
          events: b.drafts.filter((d) => !refused.includes(d)).map((d) => eventFor(b.roomId, d)),
          rejected: refused.map((d) => ({ draft: d, reason: 'no' })),
          redacted: [],
        };
      });
    });
  }

  announce(): Promise<void> {
    return Promise.resolve();
  }

  sendAlone(roomId: string, d: EventDraft): Promise<SendResult> {
    this.calls.push(`alone ${roomId}[${String(d.content.body)}]`);
    return this.later(() => {
      const body = String(d.content.body);
      if (this.refuse.has(body) || body === 'boom') throw new Error(`refused ${body}`);
      return { events: [eventFor(roomId, d)], rejected: [] };
    });
  }

  private later<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.releases.push(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
  }

  /** Finishes every write in flight, then lets the queue react. */
  async release(): Promise<void> {
    const pending = this.releases.splice(0);
    for (const r of pending) r();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }

  async releaseAll(): Promise<void> {
    for (let i = 0; i < 20; i++) await this.release();
  }
}

const idOf = (p: Promise<SendResult>) => p.then((r) => r.events[0].event_id);

describe('RoomSendQueue', () => {
  it('sends a lone draft at once', async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 1);
    const sent = idOf(queue.send('!a', draft('1')));
    expect(writer.calls).toEqual(['batch !a[1]']);
    await writer.releaseAll();
    await expect(sent).resolves.toBe('$!a/1');
  });

  it('writes what queued up during a write as one batch, across rooms, each room in order', async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 1);
    const first = idOf(queue.send('!a', draft('1')));
    const later = [
      idOf(queue.send('!a', draft('2'))),
      idOf(queue.send('!b', draft('x'))),
      idOf(queue.send('!c', draft('y'))),
      idOf(queue.send('!a', draft('3'))),
    ];
    await Promise.resolve();
    expect(writer.calls).toEqual(['batch !a[1]']);
    await writer.releaseAll();
    // !b and !c were ready first and went together; !a's next batch waited for its first to be answered.
    expect(writer.calls).toEqual(['batch !a[1]', 'batch !b[x] !c[y]', 'batch !a[2,3]']);
    await expect(first).resolves.toBe('$!a/1');
    await expect(Promise.all(later)).resolves.toEqual(['$!a/2', '$!b/x', '$!c/y', '$!a/3']);
  });

  it('sends a refused draft again alone, so its caller gets the error a lone send gets', async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 1);
    writer.refuse.add('bad');
    void queue.send('!a', draft('0'));
    const ok = idOf(queue.send('!a', draft('ok')));
    const bad = queue.send('!a', draft('bad'));
    await writer.releaseAll();
    await expect(ok).resolves.toBe('$!a/ok');
    await expect(bad).rejects.toThrow('refused bad');
    expect(writer.calls).toEqual(['batch !a[0]', 'batch !a[ok,bad]', 'alone !a[bad]']);
  });

  it('when a batch rolls back, sends each of its drafts alone', async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 1);
    void queue.send('!z', draft('0'));
    const boom = queue.send('!a', draft('boom'));
    const fine = idOf(queue.send('!b', draft('2')));
    await writer.releaseAll();
    await expect(boom).rejects.toThrow('refused boom');
    await expect(fine).resolves.toBe('$!b/2');
    expect(writer.calls).toEqual(['batch !z[0]', 'batch !a[boom] !b[2]', 'alone !a[boom]', 'alone !b[2]']);
  });

  it('when the answer to a commit is lost, fails its drafts instead of sending them twice', async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 1);
    void queue.send('!z', draft('0'));
    const lost = queue.send('!a', draft('lost'));
    const withIt = queue.send('!b', draft('2'));
    await writer.releaseAll();
    await expect(lost).rejects.toThrow(CommitOutcomeUnknownError);
    await expect(withIt).rejects.toThrow(CommitOutcomeUnknownError);
    expect(writer.calls).toEqual(['batch !z[0]', 'batch !a[lost] !b[2]']);
  });

  it("keeps a room's next batch back until its previous batch is answered", async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 1);
    void queue.send('!a', draft('0'));
    void queue.send('!a', draft('1'));
    void queue.send('!a', draft('2'));
    await Promise.resolve();
    expect(writer.calls).toEqual(['batch !a[0]']);
    await writer.release();
    void queue.send('!a', draft('3'));
    expect(writer.calls).toEqual(['batch !a[0]', 'batch !a[1,2]']);
    await writer.releaseAll();
    expect(writer.calls).toEqual(['batch !a[0]', 'batch !a[1,2]', 'batch !a[3]']);
  });

  it('with two writes in flight, a second room does not wait for the first write', async () => {
    const writer = new FakeWriter();
    const queue = new RoomSendQueue(writer, 2);
    const a = idOf(queue.send('!a', draft('1')));
    const b = idOf(queue.send('!b', draft('2')));
    void queue.send('!c', draft('3'));
    await Promise.resolve();
    // !c waits for a free slot; it goes with whatever else is ready then.
    expect(writer.calls).toEqual(['batch !a[1]', 'batch !b[2]']);
    void queue.send('!d', draft('4'));
    await writer.releaseAll();
    await expect(Promise.all([a, b])).resolves.toEqual(['$!a/1', '$!b/2']);
    expect(writer.calls).toEqual(['batch !a[1]', 'batch !b[2]', 'batch !c[3] !d[4]']);
  });
});
