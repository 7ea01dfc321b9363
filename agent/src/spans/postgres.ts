// PostgreSQL frontend/backend protocol v3, from either end: the client (node `pg`) writing queries
// or the backend process reading them. A request is a simple Query, or an extended-query batch up
// to its Sync; its response runs to ReadyForQuery.
import { cString, int32BE } from './bytes.js';
import { Framer, type FrameRead } from './framer.js';
import type { ParsedRequest, ProtocolParser, ResponseMark } from './protocol.js';
import type { SocketEvent } from './socket-event.js';
import { sqlRequest } from './sql.js';

const PROTOCOL_V3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const STARTUP_CODES = new Set([PROTOCOL_V3, SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST]);
const FRONTEND_TYPES = new Set('QPBEDSCHXpFdcf');
const BACKEND_TYPES = new Set('RKSZTDCENA123nstIGHWdcVv');
/** Prepared statements remembered per connection; an ORM preparing more evicts the oldest. */
const MAX_STATEMENTS = 256;
/** Larger than any message this parser reads: a bigger length is not PostgreSQL. */
const MAX_MESSAGE = 1 << 30;

type Frame =
  { kind: 'message'; type: string; body: Uint8Array } | { kind: 'startup'; code: number } | { kind: 'ssl-answer'; answer: string };

/** True when the bytes begin a startup packet (protocol 3.0, SSLRequest, GSSENCRequest or CancelRequest). */
export function isStartupPacket(buf: Uint8Array): boolean {
  if (buf.length < 8) return false;
  const length = int32BE(buf, 0);
  return length >= 8 && length < 10000 && STARTUP_CODES.has(int32BE(buf, 4));
}

/** A typed message header whose type and length are plausible for this direction. */
export function isPostgresMessage(buf: Uint8Array, types: 'frontend' | 'backend'): boolean {
  if (buf.length < 5) return false;
  const length = int32BE(buf, 1);
  return (types === 'frontend' ? FRONTEND_TYPES : BACKEND_TYPES).has(String.fromCharCode(buf[0]!)) && length >= 4 && length < MAX_MESSAGE;
}

function readTyped(buf: Uint8Array, streamBytes: number, types: 'frontend' | 'backend'): FrameRead<Frame> {
  if (buf.length < 5) return buf.length < streamBytes ? 'invalid' : 'incomplete';
  if (!isPostgresMessage(buf, types)) return 'invalid';
  const length = 1 + int32BE(buf, 1);
  return { length, frame: { kind: 'message', type: String.fromCharCode(buf[0]!), body: buf.subarray(5, Math.min(length, buf.length)) } };
}

/** ErrorResponse fields: S/V severity, C SQLSTATE, M message. */
function errorFields(body: Uint8Array): { code: string; message: string; severity: string } {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const field = String.fromCharCode(body[at]!);
    const { value, end } = cString(body, at + 1);
    fields.set(field, value);
    at = end;
  }
  return { code: fields.get('C') ?? '', message: fields.get('M') ?? '', severity: fields.get('V') ?? fields.get('S') ?? '' };
}

export class PostgresParser implements ProtocolParser {
  readonly protocol = 'postgresql';
  opaque = false;
  #statements = new Map<string, string>();
  #batch: { first: SocketEvent; statement: string | undefined } | undefined;
  #sawFrontend = false;
  #awaitingSslAnswer = false;
  #inResponse = false;
  /** Requests (and startups) written and not yet answered. */
  #unanswered = 0;
  /** The last server write was longer than its capture: a ReadyForQuery may have hidden past it. */
  #lastServerCut = false;
  #frontend = new Framer<Frame>((buf, streamBytes) => {
    if (!this.#sawFrontend && isStartupPacket(buf)) return { length: int32BE(buf, 0), frame: { kind: 'startup', code: int32BE(buf, 4) } };
    return readTyped(buf, streamBytes, 'frontend');
  });
  #backend = new Framer<Frame>((buf, streamBytes) => {
    if (this.#awaitingSslAnswer) return { length: 1, frame: { kind: 'ssl-answer', answer: String.fromCharCode(buf[0]!) } };
    return readTyped(buf, streamBytes, 'backend');
  });

  get unparsed(): number {
    return this.#frontend.invalid + this.#backend.invalid;
  }

  fromClient(event: SocketEvent): ParsedRequest[] {
    const out: ParsedRequest[] = [];
    for (const { frame, first } of this.#frontend.push(event)) {
      if (frame.kind === 'startup') {
        if (frame.code === SSL_REQUEST || frame.code === GSSENC_REQUEST) this.#awaitingSslAnswer = true;
        // The server's answer to a startup packet (authentication, parameters) runs to its first ReadyForQuery.
        if (frame.code === PROTOCOL_V3) out.push({ first, name: 'startup', attributes: {}, silent: true });
        continue;
      }
      if (frame.kind !== 'message') continue;
      // Startup packets (an SSLRequest, then the startup proper) come only before the first typed message.
      this.#sawFrontend = true;
      const request = this.#message(frame.type, frame.body, first);
      if (request) out.push(request);
    }
    this.#unanswered += out.length;
    return out;
  }

  #message(type: string, body: Uint8Array, first: SocketEvent): ParsedRequest | undefined {
    switch (type) {
      case 'Q':
        return { first, ...sqlRequest(cString(body, 0).value, 'postgresql') };
      case 'P': {
        const name = cString(body, 0);
        const query = cString(body, name.end).value;
        this.#remember(name.value, query);
        this.#batch = { first: this.#batch?.first ?? first, statement: query };
        return undefined;
      }
      case 'B': {
        const portal = cString(body, 0);
        const statement = this.#statements.get(cString(body, portal.end).value);
        this.#batch = { first: this.#batch?.first ?? first, statement: statement ?? this.#batch?.statement };
        return undefined;
      }
      case 'E':
      case 'D':
      case 'C':
      case 'H':
        this.#batch ??= { first, statement: undefined };
        return undefined;
      case 'S': {
        const batch = this.#batch ?? { first, statement: undefined };
        this.#batch = undefined;
        if (batch.statement === undefined) return { first: batch.first, name: 'sync', attributes: {}, silent: true };
        return { first: batch.first, ...sqlRequest(batch.statement, 'postgresql') };
      }
      default:
        // Terminate, password and COPY data: no exchange of their own.
        return undefined;
    }
  }

  #remember(name: string, query: string): void {
    this.#statements.delete(name);
    this.#statements.set(name, query);
    if (this.#statements.size > MAX_STATEMENTS) this.#statements.delete(this.#statements.keys().next().value!);
  }

  fromServer(event: SocketEvent): ResponseMark[] {
    const out: ResponseMark[] = [];
    // The backend writes a response's last bytes, ReadyForQuery, with the rest of it. Past a cut
    // capture that ReadyForQuery is unseen: when a request is waiting, the next write answers it.
    if (this.#inResponse && this.#lastServerCut && this.#unanswered > 0) this.#inResponse = false;
    this.#lastServerCut = event.bytes > event.payload.length;
    for (const { frame } of this.#backend.push(event)) {
      if (frame.kind === 'ssl-answer') {
        this.#awaitingSslAnswer = false;
        // 'S' or 'G': TLS or GSS encryption follows, nothing readable past here.
        if (frame.answer !== 'N') this.opaque = true;
        continue;
      }
      if (frame.kind !== 'message') continue;
      const begins = !this.#inResponse;
      // Asynchronous messages between responses: notices, notifications, parameter changes.
      if (begins && (frame.type === 'N' || frame.type === 'A' || frame.type === 'S')) continue;
      if (begins) this.#unanswered = Math.max(0, this.#unanswered - 1);
      this.#inResponse = frame.type !== 'Z';
      const mark: ResponseMark = { begins, ends: frame.type === 'Z' };
      if (frame.type === 'E') {
        const { code, message, severity } = errorFields(frame.body);
        mark.error = { code, message: severity ? `${severity}: ${message}` : message };
        mark.attributes = { 'db.response.status_code': code };
      }
      if (begins || mark.ends || mark.error) out.push(mark);
    }
    return out;
  }
}
