import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { M, MatrixError } from '../../common/errors/matrix-error.js';
import { canonicalJson } from '../../common/crypto/canonical-json.js';
import { ServerKeyService } from '../../common/crypto/server-key.service.js';
import { SqlService, type Tx } from '../../database/sql.service.js';
import { StreamNotifier } from '../../database/stream-notifier.service.js';
import {
  AuthError,
  authorize,
  selectAuthEvents,
  type AuthState,
  type StateEntry,
} from '../events/event-auth.js';
import { hashAndSign } from '../events/event-hashing.js';
import { stateKey, type Pdu, type StoredEvent } from '../events/pdu.js';
import { redact } from '../events/redaction.js';
import type { RoomVersion } from '../events/room-versions.js';
import { EventsPersistedEvent, type EventsPersisted } from '../rooms.events.js';
import {
  RoomEventRepository,
  type ClientTxn,
  type EventBatch,
  type NewEventRow,
} from '../repositories/room-event.repository.js';
import { RoomRepository, type RoomRow } from '../repositories/room.repository.js';
import { RoomStateRepository } from '../repositories/room-state.repository.js';
import { RoomSendQueue, type PersistedBatch } from './room-send-queue.js';
import { RoomStateCache, type StateEvent, type StateKeyPair } from './room-state-cache.js';

/** What a caller asks to send. */
export interface EventDraft {
  type: string;
  stateKey?: string;
  content: Record<string, unknown>;
  sender: string;
  /** The event a redaction redacts. */
  redacts?: string;
  /** The client transaction that asked for it (idempotent sends). */
  txn?: { device: string; scope: string; id: string };
  /**
   * Written only while the sender's membership is this one, and refused like an event the auth
   * rules refuse otherwise: a member event re-sent for a profile change must not undo a leave, kick
   * or ban that got there first.
   */
  ifMembership?: string;
}

export interface SendOptions {
  /** Batch mode for admin operations: refused drafts are skipped and reported instead of failing the batch. */
  skipRejected?: boolean;
}

export interface SendResult {
  events: StoredEvent[];
  rejected: { draft: EventDraft; reason: string }[];
}

const MAX_PDU_BYTES = 65536;
const MAX_KEY_BYTES = 255;

/**
 * What the spec and PostgreSQL require of a draft beyond the auth rules: type and state_key of at
 * most 255 bytes, and no NUL in the text columns they (and a member's profile) are stored in.
 */
function checkDraft(draft: EventDraft): void {
  const hasNul = (v: unknown) => typeof v === 'string' && v.includes('\u0000');
  if (draft.type === '' || Buffer.byteLength(draft.type) > MAX_KEY_BYTES || hasNul(draft.type))
    throw M.badJson('event type must be 1 to 255 bytes without NUL characters');
  if (
    draft.stateKey !== undefined &&
    (Buffer.byteLength(draft.stateKey) > MAX_KEY_BYTES || hasNul(draft.stateKey))
  )
    throw M.badJson('state_key must be at most 255 bytes without NUL characters');
  if (
    draft.type === 'm.room.member' &&
    (hasNul(draft.content.displayname) || hasNul(draft.content.avatar_url))
  )
    throw M.badJson('displayname and avatar_url must not contain NUL characters');
}
const MAX_BATCH = 2000;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
const txnKey = (sender: string, txn: { device: string; scope: string; id: string }) =>
  JSON.stringify([sender, txn.device, txn.scope, txn.id]);
/** Current state loaded for a batch, updated as each accepted draft becomes an event. */
class WorkingState implements AuthState {
  private readonly entries = new Map<string, StateEntry & { pdu?: Pdu }>();

  constructor(events: StateEvent[]) {
    for (const e of events) this.set(e.pdu.type, e.pdu.state_key!, e.event_id, e.pdu);
  }

  /** The entries for these keys as they stand (null: no such state), to remember after the commit. */
  snapshot(keys: Iterable<StateKeyPair>): Map<string, StateEvent | null> {
    const out = new Map<string, StateEvent | null>();
    for (const [type, key] of keys) {
      const entry = this.get(type, key);
      out.set(stateKey(type, key), entry?.pdu ? { event_id: entry.event_id, pdu: entry.pdu } : null);
    }
    return out;
  }

  get(type: string, key: string): (StateEntry & { pdu?: Pdu }) | undefined {
    return this.entries.get(stateKey(type, key));
  }

  set(type: string, key: string, eventId: string, pdu: Pdu): void {
    this.entries.set(stateKey(type, key), {
      event_id: eventId,
      sender: pdu.sender,
      content: pdu.content,
      pdu,
    });
  }
}

/**
 * The only writer of room events. For each room, writes are serialised by a row lock on the room
 * (two API processes sending into one room queue there; different rooms go in parallel). Each
 * draft is authorised against the current state, hashed, signed and stored with its state and
 * membership changes in one transaction; /sync is woken after the commit.
 */
@Injectable()
export class RoomWriterService {
  private readonly logger = new Logger(RoomWriterService.name);
  private readonly stateCache = new RoomStateCache();
  private readonly queue = new RoomSendQueue({
    persistRooms: (batches) => this.persistRooms(batches, { skipRejected: true }),
    announce: (written) => this.announce(written),
    sendAlone: (roomId, draft) => this.sendNow(roomId, [draft]),
  });

  constructor(
    private readonly sql: SqlService,
    private readonly rooms: RoomRepository,
    private readonly events: RoomEventRepository,
    private readonly state: RoomStateRepository,
    private readonly keys: ServerKeyService,
    private readonly notifier: StreamNotifier,
    private readonly emitter: EventEmitter2,
  ) {}

  /**
   * Creates a room and its first events atomically (the room appears whole or not at all);
   * `alongside` writes what belongs with it (its alias) in the same transaction.
   */
  async createRoom(
    roomId: string,
    version: RoomVersion,
    creator: string,
    drafts: EventDraft[],
    alongside?: (tx: Tx) => Promise<void>,
  ): Promise<StoredEvent[]> {
    if (drafts.length > MAX_BATCH) throw new Error(`batches are limited to ${MAX_BATCH} events`);
    for (const draft of drafts) checkDraft(draft);
    const written = await this.sql.transaction(
      async (tx) => {
        if (!(await this.rooms.insert(roomId, version, creator, tx))) {
          throw new MatrixError('M_ROOM_IN_USE', 'Room ID already exists');
        }
        await alongside?.(tx);
        // A new room has no state yet.
        const room = (await this.rooms.lock(roomId, tx))!;
        const working = new WorkingState([]);
        const built = this.build(room, drafts, working, {});
        const [base] = await this.events.persistBatches([built.batch], tx);
        built.stored.forEach((e, i) => (e.stream_pos = base + i + 1));
        const state = working.snapshot(built.batch.state.map((st) => [st.type, st.stateKey]));
        return { events: built.stored, redacted: [], state, head: built.batch.lastEventId || null };
      },
      { holdsStreamHead: true },
    );
    this.stateCache.remember(roomId, null, written.head, written.state);
    await this.announce([written]);
    return written.events;
  }

  /** The event an earlier send with this transaction created, if any (lets a caller skip work a retry already did). */
  findTransaction(
    sender: string,
    txn: { device: string; scope: string; id: string },
  ): Promise<string | null> {
    return this.events.findByTxn(sender, txn.device, txn.scope, txn.id);
  }

  /**
   * Sends drafts into an existing room, in order. A single draft (a client's send, a membership
   * change) goes through the send queue, which writes the drafts that arrive while another write
   * is in flight together (see RoomSendQueue); each is still authorised against the state its
   * predecessors left, exactly as if they had been sent one by one.
   */
  async send(roomId: string, drafts: EventDraft[], options: SendOptions = {}): Promise<SendResult> {
    if (drafts.length !== 1 || options.skipRejected) return this.sendNow(roomId, drafts, options);
    checkDraft(drafts[0]);
    return this.queue.send(roomId, drafts[0]);
  }

  /** Sends drafts into an existing room as one transaction. */
  private async sendNow(
    roomId: string,
    drafts: EventDraft[],
    options: SendOptions = {},
  ): Promise<SendResult> {
    // A retried client transaction returns the event it created the first time, also after a
    // restart: the unique index on the transaction refuses the duplicate and we answer the original.
    const txn = drafts.length === 1 ? drafts[0].txn : undefined;
    try {
      const [written] = await this.persistRooms([{ roomId, drafts }], options);
      await this.announce([written]);
      return { events: written.events, rejected: written.rejected };
    } catch (err) {
      // A duplicate transaction (unique violation), or a retry that would now be refused (the user
      // left, the room was purged): if the transaction already succeeded, its answer stands.
      if (txn) {
        const existing = await this.events.findByTxn(drafts[0].sender, txn.device, txn.scope, txn.id);
        if (existing) return { events: [(await this.events.find(existing))!], rejected: [] };
      }
      throw err;
    }
  }

  /** Persists drafts into existing rooms in one transaction, without announcing them. */
  private async persistRooms(
    batches: { roomId: string; drafts: EventDraft[] }[],
    options: SendOptions,
  ): Promise<PersistedBatch[]> {
    for (const { drafts } of batches) {
      if (drafts.length > MAX_BATCH) throw new Error(`batches are limited to ${MAX_BATCH} events`);
      for (const draft of drafts) checkDraft(draft);
    }
    // The rooms are locked, then the state their auth rules need (what the state cache does not
    // know) and the client transactions already used are read, in the round trip that opens the
    // transaction (each statement reads a fresh snapshot, so reads after the lock is granted are
    // current).
    const needed = batches.map((b) => this.neededKeys(b.drafts));
    const requested = batches.map((b, i) => this.stateCache.keysToRead(b.roomId, needed[i]));
    const toRead = batches.flatMap((b, i) =>
      requested[i].map(([type, stateKey]) => ({ roomId: b.roomId, type, stateKey })),
    );
    const txns = options.skipRejected
      ? batches.flatMap((b) => b.drafts.flatMap((d) => (d.txn ? [{ sender: d.sender, ...d.txn }] : [])))
      : [];
    const opening = [this.rooms.lockStatement(batches.map((b) => b.roomId))];
    if (toRead.length > 0) opening.push(this.state.currentStatement(toRead));
    if (txns.length > 0) opening.push(this.events.usedTxnsStatement(txns));
    const written = this.sql.transaction(
      async (tx, [locked, ...reads]) => {
        const rooms = new Map((locked as unknown as RoomRow[]).map((r) => [r.room_id, r]));
        const states = new Map<string, StateEvent[]>();
        for (const e of toRead.length > 0 ? RoomStateRepository.rowsToEvents(reads.shift()!) : []) {
          const list = states.get(e.pdu.room_id) ?? [];
          list.push(e);
          states.set(e.pdu.room_id, list);
        }
        const used = (reads.shift() ?? []) as unknown as ClientTxn[];
        const usedTxns = new Set(used.map((t) => txnKey(t.sender, t)));
        const built = [];
        for (const [i, { roomId, drafts }] of batches.entries()) {
          const room = rooms.get(roomId);
          if (!room || room.purged_ts !== null) throw M.notFound('Room not found');
          // Written to by another process since the cache saw it: read every needed key.
          const current =
            this.stateCache.resolve(
              roomId,
              room.last_event_id,
              needed[i],
              requested[i],
              states.get(roomId) ?? [],
            ) ?? (await this.state.current(roomId, needed[i], tx));
          const working = new WorkingState(current);
          const b = this.build(room, drafts, working, options, usedTxns);
          const keys = [...needed[i], ...b.batch.state.map((st): StateKeyPair => [st.type, st.stateKey])];
          built.push({ room, ...b, state: working.snapshot(keys) });
        }
        // Redactions first: the batch statements take the stream head lock, held until the commit.
        const redacted: string[][] = [];
        for (const b of built) redacted.push(await this.applyRedactions(b.stored, b.room.room_version, tx));
        // All rooms' events in one statement.
        const persisted = built.filter((b) => b.rows.length > 0);
        if (persisted.length > 0) {
          const bases = await this.events.persistBatches(
            persisted.map((b) => b.batch),
            tx,
          );
          persisted.forEach((b, k) => b.stored.forEach((e, j) => (e.stream_pos = bases[k] + j + 1)));
        }
        return { built, redacted };
      },
      { holdsStreamHead: true, opening },
    );
    try {
      const { built, redacted } = await written;
      built.forEach((b, k) => {
        // A redaction may have redacted a state event the cache holds: read the room again next time.
        if (redacted[k].length > 0) this.stateCache.forget(b.room.room_id);
        else
          this.stateCache.remember(
            b.room.room_id,
            b.room.last_event_id,
            b.batch.lastEventId || b.room.last_event_id,
            b.state,
          );
      });
      return built.map((b, k) => ({ events: b.stored, rejected: b.rejected, redacted: redacted[k] }));
    } catch (err) {
      for (const b of batches) this.stateCache.forget(b.roomId);
      throw err;
    }
  }

  /** State keys the auth rules need for these drafts. */
  private neededKeys(drafts: EventDraft[]): StateKeyPair[] {
    const keys = new Map<string, StateKeyPair>();
    const add = (type: string, key: string) => keys.set(stateKey(type, key), [type, key]);
    add('m.room.create', '');
    add('m.room.power_levels', '');
    add('m.room.join_rules', '');
    for (const d of drafts) {
      add('m.room.member', d.sender);
      if (d.stateKey !== undefined) add(d.type, d.stateKey);
      const via = d.content.join_authorised_via_users_server;
      if (typeof via === 'string') add('m.room.member', via);
    }
    return [...keys.values()];
  }

  private build(
    room: RoomRow,
    drafts: EventDraft[],
    working: WorkingState,
    options: SendOptions,
    usedTxns: Set<string> = new Set(),
  ) {
    const version = room.room_version;
    let prev = room.last_event_id;
    let depth = Number(room.last_depth);
    const rows: NewEventRow[] = [];
    const stored: StoredEvent[] = [];
    const rejected: SendResult['rejected'] = [];
    const batch: EventBatch = {
      roomId: room.room_id,
      events: rows,
      state: [],
      closes: [],
      memberships: [],
      lastEventId: '',
      lastDepth: 0,
    };
    const lastStateOrd = new Map<string, number>();
    const memberships = new Map<string, EventBatch['memberships'][number]>();

    for (const draft of drafts) {
      if (draft.txn && usedTxns.has(txnKey(draft.sender, draft.txn))) {
        // A client retrying a send that succeeded: refused here, answered with the original event
        // when it is sent again alone (rather than failing the whole batch on the unique index).
        rejected.push({ draft, reason: 'transaction ID already used' });
        continue;
      }
      const authEvent = {
        type: draft.type,
        sender: draft.sender,
        state_key: draft.stateKey,
        content: draft.content,
        room_id: room.room_id,
        prev_events: prev ? [prev] : [],
      };
      try {
        if (
          draft.ifMembership !== undefined &&
          working.get('m.room.member', draft.sender)?.content.membership !== draft.ifMembership
        ) {
          throw new AuthError(`the sender's membership is no longer ${draft.ifMembership}`);
        }
        authorize(authEvent, working, version);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        if (options.skipRejected) {
          rejected.push({ draft, reason: err.message });
          continue;
        }
        throw M.forbidden(err.message);
      }
      const unsignedPdu: Omit<Pdu, 'hashes' | 'signatures'> = {
        room_id: room.room_id,
        sender: draft.sender,
        origin_server_ts: Date.now(),
        type: draft.type,
        ...(draft.stateKey !== undefined ? { state_key: draft.stateKey } : {}),
        content: draft.content,
        depth: depth + 1,
        prev_events: prev ? [prev] : [],
        auth_events: selectAuthEvents(authEvent, working),
        ...(draft.redacts !== undefined && version === '10' ? { redacts: draft.redacts } : {}),
        ...(version === '10' ? { origin: this.keys.serverName } : {}),
      };
      const { pdu, eventId } = hashAndSign(unsignedPdu, version, this.keys.serverName, this.keys.key);
      const text = canonicalJson(pdu);
      if (Buffer.byteLength(text) > MAX_PDU_BYTES)
        throw new MatrixError('M_TOO_LARGE', 'Event is larger than 64 KiB');

      const ord = rows.length + 1;
      const replaced = draft.stateKey !== undefined ? working.get(draft.type, draft.stateKey) : undefined;
      rows.push({
        eventId,
        type: draft.type,
        stateKey: draft.stateKey ?? null,
        sender: draft.sender,
        depth: depth + 1,
        ts: pdu.origin_server_ts,
        pdu: text,
        replacesState: replaced?.event_id ?? null,
        prevContent: replaced ? JSON.stringify(replaced.content) : null,
        prevSender: replaced?.sender ?? null,
        txnDevice: draft.txn?.device ?? null,
        txnScope: draft.txn?.scope ?? null,
        txnId: draft.txn?.id ?? null,
      });
      stored.push({
        event_id: eventId,
        stream_pos: 0,
        pdu,
        replaces_state: replaced?.event_id ?? null,
        prev_content: replaced?.content ?? null,
        prev_sender: replaced?.sender ?? null,
        txn_device: draft.txn?.device ?? null,
        txn_id: draft.txn?.id ?? null,
      });

      if (draft.stateKey !== undefined) {
        const key = stateKey(draft.type, draft.stateKey);
        const earlier = lastStateOrd.get(key);
        if (earlier === undefined) batch.closes.push({ type: draft.type, stateKey: draft.stateKey, ord });
        else batch.state[batch.state.findIndex((s) => s.ord === earlier)].toOrd = ord;
        batch.state.push({ type: draft.type, stateKey: draft.stateKey, eventId, ord, toOrd: null });
        lastStateOrd.set(key, ord);
        working.set(draft.type, draft.stateKey, eventId, pdu);
        if (draft.type === 'm.room.member') {
          memberships.set(draft.stateKey, {
            userId: draft.stateKey,
            membership: String(draft.content.membership),
            eventId,
            ord,
            sender: draft.sender,
            isLocal: draft.stateKey.endsWith(`:${this.keys.serverName}`),
            displayName: typeof draft.content.displayname === 'string' ? draft.content.displayname : null,
            avatarUrl: typeof draft.content.avatar_url === 'string' ? draft.content.avatar_url : null,
          });
        }
      }
      prev = eventId;
      depth += 1;
    }
    batch.memberships = [...memberships.values()];
    batch.lastEventId = prev ?? '';
    batch.lastDepth = depth;
    return { rows, stored, rejected, batch };
  }

  /** Redactions in the batch replace their target's stored PDU with its redacted form. */
  private async applyRedactions(events: StoredEvent[], version: RoomVersion, tx: Tx): Promise<string[]> {
    const redacted: string[] = [];
    for (const e of events) {
      if (e.pdu.type !== 'm.room.redaction') continue;
      const targetId = (version === '11' ? e.pdu.content.redacts : e.pdu.redacts) as string | undefined;
      if (!targetId) continue;
      const target = await this.events.find(targetId, tx);
      if (!target || target.pdu.room_id !== e.pdu.room_id || target.redacted_by) continue;
      const redactedPdu = redact(target.pdu as unknown as Record<string, unknown>, version);
      await this.events.applyRedaction(targetId, canonicalJson(redactedPdu), e.event_id, tx);
      redacted.push(targetId);
    }
    return redacted;
  }

  /** Wakes /sync and runs the after-commit listeners (search indexing, notices) for new events. */
  private async announce(written: { events: StoredEvent[]; redacted: string[] }[]): Promise<void> {
    const events = written.flatMap((w) => w.events);
    if (events.length === 0) return;
    const roomIds = new Set<string>();
    const userIds = new Set<string>();
    let position = 0;
    for (const e of events) {
      roomIds.add(e.pdu.room_id);
      if (e.pdu.type === 'm.room.member' && e.pdu.state_key) userIds.add(e.pdu.state_key);
      position = Math.max(position, e.stream_pos);
    }
    // The wake-up and the listeners (search indexing) go at once: a caller waits for both.
    const woken = this.notifier
      .notify({ roomIds: [...roomIds], userIds: [...userIds], position })
      .catch((err) =>
        // The events are committed; a missed wake-up only delays /sync until its long-poll times out.
        this.logger.warn(
          `Could not publish the sync wake-up for ${[...roomIds].join(', ')}: ${errorText(err)}`,
        ),
      );
    const payload: EventsPersisted = { events, redacted: written.flatMap((w) => w.redacted) };
    const listened = this.emitter.emitAsync(EventsPersistedEvent, payload).catch((err) =>
      // Derived data (the search index) can be rebuilt; the send itself has succeeded.
      this.logger.error(`A listener failed on new events in ${[...roomIds].join(', ')}: ${errorText(err)}`),
    );
    await Promise.all([woken, listened]);
  }
}
