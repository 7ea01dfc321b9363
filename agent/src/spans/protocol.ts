// What every protocol parser hands the tracker: requests (client -> server bytes) and marks on the
// responses (server -> client bytes). Parsers never pair the two: the tracker does, in order, per
// connection, so one pairing rule serves every protocol.
import type { SocketEvent } from './socket-event.js';

export type Protocol = 'http' | 'postgresql' | 'redis' | 'mysql';
export type SpanStatus = 'unset' | 'ok' | 'error';

export interface ParsedRequest {
  /** The event that carried the request's first bytes: its time, thread and kernel span id. */
  first: SocketEvent;
  name: string;
  attributes: Record<string, string>;
  /** From a W3C traceparent header: the caller's trace and span. */
  traceparent?: { traceId: string; parentSpanId: string };
  /** An exchange that is no span of its own (PostgreSQL startup, MySQL authentication): still paired with its response. */
  silent?: boolean;
}

export interface ResponseMark {
  /** A response starts here: it answers the oldest unanswered request. Otherwise this amends the current response. */
  begins: boolean;
  /**
   * true: the response is complete (PostgreSQL ReadyForQuery, the last byte of an HTTP body of
   * known length…); false: more of it is due, a close now cuts it; unknown: the parser cannot tell
   * (HTTP without a length, a head cut by the capture), the next request, the close or the quiet
   * time ends it.
   */
  ends: boolean | 'unknown';
  httpStatus?: number;
  /** Database error: status error with this message and code. */
  error?: { code: string; message: string };
  attributes?: Record<string, string>;
}

export interface ProtocolParser {
  readonly protocol: Protocol;
  fromClient(event: SocketEvent): ParsedRequest[];
  fromServer(event: SocketEvent): ResponseMark[];
  /** Payloads (or their remainders) that did not parse as this protocol. */
  readonly unparsed: number;
  /** The connection switched to bytes no parser reads (TLS after SSLRequest, a WebSocket upgrade). */
  readonly opaque: boolean;
}
