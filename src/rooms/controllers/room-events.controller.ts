import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { M } from '../../common/errors/matrix-error.js';
import { CLIENT_PREFIXES } from '../../common/http/prefixes.js';
import { Authenticated, Caller } from '../../accounts/auth/authenticated.decorator.js';
import type { Requester } from '../../accounts/auth/requester.js';
import { ContextQuery, MembersQuery, MessagesQuery } from '../dto/room-misc.dto.js';
import { ReasonDto } from '../dto/membership.dto.js';
import { roomEventFilterProblem, type RoomEventFilter } from '../events/event-filter.js';
import { RoomEventsService } from '../services/room-events.service.js';

function parseFilter(filter: string | undefined): RoomEventFilter | undefined {
  if (filter === undefined || filter === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(filter);
  } catch {
    throw M.invalidParam('filter must be a JSON object');
  }
  const problem = roomEventFilterProblem(parsed);
  if (problem) throw M.invalidParam(problem);
  return parsed as RoomEventFilter;
}

/** Sending events into a room and reading its state and history. */
@Controller(CLIENT_PREFIXES)
@Authenticated()
export class RoomEventsController {
  constructor(private readonly events: RoomEventsService) {}

  /** PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} */
  @Put('rooms/:roomId/send/:eventType/:txnId')
  send(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('eventType') type: string,
    @Param('txnId') txnId: string,
    @Body() body: Record<string, unknown>,
  ) {
    return this.events.sendMessage(caller, roomId, type, txnId, body);
  }

  /** PUT /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} (the key may be empty, with or without the trailing slash) */
  @Put(['rooms/:roomId/state/:eventType', 'rooms/:roomId/state/:eventType/:stateKey'])
  sendState(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('eventType') type: string,
    @Param('stateKey') stateKey: string | undefined,
    @Body() body: Record<string, unknown>,
  ) {
    return this.events.sendState(caller, roomId, type, stateKey ?? '', body);
  }

  /** PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId} */
  @Put('rooms/:roomId/redact/:eventId/:txnId')
  redact(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('eventId') eventId: string,
    @Param('txnId') txnId: string,
    @Body() body: ReasonDto,
  ) {
    return this.events.redact(caller, roomId, eventId, txnId, body.reason);
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/state */
  @Get('rooms/:roomId/state')
  state(@Caller() caller: Requester, @Param('roomId') roomId: string) {
    return this.events.getState(caller, roomId);
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey} (?format=event for the whole event) */
  @Get(['rooms/:roomId/state/:eventType', 'rooms/:roomId/state/:eventType/:stateKey'])
  async stateEvent(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('eventType') type: string,
    @Param('stateKey') stateKey: string | undefined,
    @Query('format') format: string | undefined,
  ) {
    const event = await this.events.getStateEvent(caller, roomId, type, stateKey ?? '');
    if (format === 'event') return (await this.events.format([event], caller))[0];
    return event.pdu.content;
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/event/{eventId} */
  @Get('rooms/:roomId/event/:eventId')
  event(@Caller() caller: Requester, @Param('roomId') roomId: string, @Param('eventId') eventId: string) {
    return this.events.getEvent(caller, roomId, eventId);
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/context/{eventId} */
  @Get('rooms/:roomId/context/:eventId')
  context(
    @Caller() caller: Requester,
    @Param('roomId') roomId: string,
    @Param('eventId') eventId: string,
    @Query() query: ContextQuery,
  ) {
    return this.events.context(caller, roomId, eventId, {
      limit: query.limit ?? 10,
      filter: parseFilter(query.filter),
    });
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/members */
  @Get('rooms/:roomId/members')
  members(@Caller() caller: Requester, @Param('roomId') roomId: string, @Query() query: MembersQuery) {
    return this.events.members(caller, roomId, query);
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/joined_members */
  @Get('rooms/:roomId/joined_members')
  joinedMembers(@Caller() caller: Requester, @Param('roomId') roomId: string) {
    return this.events.joinedMembers(caller, roomId);
  }

  /** GET /_matrix/client/v3/rooms/{roomId}/messages */
  @Get('rooms/:roomId/messages')
  messages(@Caller() caller: Requester, @Param('roomId') roomId: string, @Query() query: MessagesQuery) {
    return this.events.messages(caller, roomId, {
      from: query.from,
      to: query.to,
      dir: query.dir ?? 'b',
      limit: query.limit ?? 10,
      filter: parseFilter(query.filter),
    });
  }
}
