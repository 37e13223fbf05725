import { Injectable } from '@nestjs/common';
import { SqlService } from '../../database/sql.service.js';

export interface MembershipRow {
  room_id: string;
  user_id: string;
  membership: string;
  event_id: string;
  stream_pos: string;
  sender: string;
  is_local: boolean;
  display_name: string | null;
  avatar_url: string | null;
  forgotten: boolean;
}

const COLUMNS = `m.room_id, m.user_id, m.membership, m.event_id, m.stream_pos, m.sender, m.is_local, m.display_name,
  m.avatar_url, m.forgotten`;

/** Current membership per (room, user), read from the table the event writer keeps in step with state. */
@Injectable()
export class MembershipRepository {
  constructor(private readonly sql: SqlService) {}

  get(roomId: string, userId: string): Promise<MembershipRow | null> {
    return this.sql.one<MembershipRow>(
      `SELECT ${COLUMNS} FROM room_memberships m WHERE m.room_id = $1 AND m.user_id = $2`,
      [roomId, userId],
    );
  }

  /** A user's rooms with the given memberships, skipping purged rooms, oldest membership first. */
  roomsOf(userId: string, memberships: string[]): Promise<MembershipRow[]> {
    return this.sql.query<MembershipRow>(
      `SELECT ${COLUMNS} FROM room_memberships m JOIN rooms r ON r.room_id = m.room_id
       WHERE m.user_id = $1 AND m.membership = ANY($2) AND r.purged_ts IS NULL
       ORDER BY m.stream_pos`,
      [userId, memberships],
    );
  }

  /** Members of a room in the order they first appeared in it (Dendrite's "membership order"). */
  members(roomId: string, memberships: string[] | null, localOnly = false): Promise<MembershipRow[]> {
    return this.sql.query<MembershipRow>(
      `SELECT ${COLUMNS} FROM room_memberships m
       WHERE m.room_id = $1 AND ($2::text[] IS NULL OR m.membership = ANY($2)) AND (NOT $3 OR m.is_local)
       ORDER BY m.first_pos`,
      [roomId, memberships, localOnly],
    );
  }

  async counts(roomId: string): Promise<{ joined: number; invited: number }> {
    const row = await this.sql.one<{ joined: string; invited: string }>(
      `SELECT count(*) FILTER (WHERE membership = 'join') AS joined, count(*) FILTER (WHERE membership = 'invite') AS invited
       FROM room_memberships WHERE room_id = $1`,
      [roomId],
    );
    return { joined: Number(row!.joined), invited: Number(row!.invited) };
  }

  /** Up to `limit` other joined or invited members, for the room summary's heroes. */
  async heroes(roomId: string, except: string, limit: number): Promise<string[]> {
    const rows = await this.sql.query<{ user_id: string }>(
      `SELECT user_id FROM room_memberships WHERE room_id = $1 AND user_id <> $2 AND membership IN ('join', 'invite')
       ORDER BY first_pos LIMIT $3`,
      [roomId, except, limit],
    );
    return rows.map((r) => r.user_id);
  }

  async forget(roomId: string, userId: string): Promise<void> {
    await this.sql.exec(`UPDATE room_memberships SET forgotten = TRUE WHERE room_id = $1 AND user_id = $2`, [
      roomId,
      userId,
    ]);
  }
}
