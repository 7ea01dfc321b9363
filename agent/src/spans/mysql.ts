// MySQL client/server protocol: packets of a 3-byte length and a sequence number. Commands are
// COM_QUERY, and COM_STMT_PREPARE whose text is bound to the statement id its OK response returns,
// so that COM_STMT_EXECUTE is named by its statement. The server speaks first (its greeting), and a
// response is whatever the server sends after the client spoke.
import { ascii, text, uint16LE, uint32LE } from './bytes.js';
import { Framer, type FrameRead } from './framer.js';
import type { ParsedRequest, ProtocolParser, ResponseMark } from './protocol.js';
import type { SocketEvent } from './socket-event.js';
import { sqlRequest } from './sql.js';

const COM_QUIT = 0x01;
const COM_QUERY = 0x03;
const COM_STMT_PREPARE = 0x16;
const COM_STMT_EXECUTE = 0x17;
const COM_STMT_SEND_LONG_DATA = 0x18;
const COM_STMT_CLOSE = 0x19;
/** Commands the server does not answer: pairing them would shift every later response. */
const UNANSWERED = new Set([COM_QUIT, COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE]);
const MAX_STATEMENTS = 256;

type Packet = { seq: number; body: Uint8Array; bodyBytes: number };

/**
 * Where a result set is: column definitions, then (before CLIENT_DEPRECATE_EOF) an EOF packet,
 * then rows, then an EOF or OK packet with the 0xfe header. Both shapes are told apart without the
 * capability flags: the classic EOF packet has exactly 5 bytes, the OK that replaces it 7 or more.
 */
type ResultSet = { columnsLeft: number; rows: boolean };

/** An EOF packet, or an OK packet ending a result set: header 0xfe, shorter than 9 bytes. */
const isEnd = (p: Packet): boolean => p.body[0] === 0xfe && p.bodyBytes < 9;

function readPacket(buf: Uint8Array, streamBytes: number): FrameRead<Packet> {
  if (buf.length < 4) return buf.length < streamBytes ? 'invalid' : 'incomplete';
  const bodyBytes = buf[0]! | (buf[1]! << 8) | (buf[2]! << 16);
  return { length: 4 + bodyBytes, frame: { seq: buf[3]!, body: buf.subarray(4, Math.min(buf.length, 4 + bodyBytes)), bodyBytes } };
}

/** The server's first packet: sequence 0, protocol version 10, then a printable version string. */
export function isMysqlGreeting(buf: Uint8Array): boolean {
  return buf.length >= 6 && buf[3] === 0 && buf[4] === 0x0a && buf[5]! >= 0x30 && buf[5]! <= 0x39;
}

/** A client command packet (sequence 0) of a kind this parser names. */
export function isMysqlCommand(buf: Uint8Array, streamBytes: number): boolean {
  if (buf.length < 5 || buf[3] !== 0) return false;
  const length = buf[0]! | (buf[1]! << 8) | (buf[2]! << 16);
  return length + 4 === streamBytes && (buf[4] === COM_QUERY || buf[4] === COM_STMT_PREPARE || buf[4] === COM_STMT_EXECUTE);
}

export class MysqlParser implements ProtocolParser {
  readonly protocol = 'mysql';
  readonly opaque = false;
  #statements = new Map<number, string>();
  /** Per request sent and not yet answered: the text of a COM_STMT_PREPARE, null for anything else. */
  #awaiting: (string | null)[] = [];
  #clientSpokeLast = false;
  #resultSet: ResultSet | undefined;
  #client = new Framer<Packet>(readPacket);
  #server = new Framer<Packet>(readPacket);

  get unparsed(): number {
    return this.#client.invalid + this.#server.invalid;
  }

  fromClient(event: SocketEvent): ParsedRequest[] {
    const out: ParsedRequest[] = [];
    for (const { frame, first } of this.#client.push(event)) {
      this.#clientSpokeLast = true;
      const command = frame.seq === 0 ? frame.body[0] : undefined;
      if (command !== undefined && UNANSWERED.has(command)) continue;
      const request = this.#command(command, frame.body, first);
      if (this.#awaiting.length < 1024) this.#awaiting.push(command === COM_STMT_PREPARE ? text(frame.body, 1) : null);
      out.push(request);
    }
    return out;
  }

  #command(command: number | undefined, body: Uint8Array, first: SocketEvent): ParsedRequest {
    switch (command) {
      case COM_QUERY:
        return { first, ...sqlRequest(text(body, 1), 'mysql') };
      case COM_STMT_PREPARE:
        // Preparing is a round trip of its own; its span is named by the statement it prepares.
        return { first, ...sqlRequest(text(body, 1), 'mysql') };
      case COM_STMT_EXECUTE: {
        const statement = body.length >= 5 ? this.#statements.get(uint32LE(body, 1)) : undefined;
        if (statement !== undefined) return { first, ...sqlRequest(statement, 'mysql') };
        return { first, name: 'EXECUTE', attributes: { 'db.system.name': 'mysql', 'db.operation.name': 'EXECUTE' } };
      }
      default:
        // Authentication (sequence above 0), pings, USE: exchanges that are no span of their own.
        return { first, name: 'command', attributes: {}, silent: true };
    }
  }

  fromServer(event: SocketEvent): ResponseMark[] {
    const out: ResponseMark[] = [];
    for (const { frame } of this.#server.push(event)) {
      const begins = this.#clientSpokeLast;
      this.#clientSpokeLast = false;
      if (begins) {
        this.#resultSet = undefined;
        out.push(this.#firstPacket(frame, this.#awaiting.shift() ?? null));
      } else if (this.#resultSet && this.#resultSetEnds(this.#resultSet, frame)) {
        this.#resultSet = undefined;
        const mark: ResponseMark = { begins: false, ends: true };
        if (frame.body[0] === 0xff) Object.assign(mark, errorMark(frame.body));
        out.push(mark);
      }
    }
    return out;
  }

  /** Follows a result set past one more packet: true when that packet ended it. */
  #resultSetEnds(set: ResultSet, packet: Packet): boolean {
    if (packet.body[0] === 0xff) return true;
    if (set.columnsLeft > 0) {
      set.columnsLeft--;
      return false;
    }
    if (!set.rows) {
      set.rows = true;
      if (packet.body[0] === 0xfe && packet.bodyBytes === 5) return false;
    }
    return isEnd(packet);
  }

  #firstPacket({ body, bodyBytes }: Packet, prepared: string | null): ResponseMark {
    const header = body[0];
    if (header === 0xff) return { begins: true, ends: true, ...errorMark(body) };
    if (header === 0x00 && bodyBytes >= 7) {
      if (prepared === null) return { begins: true, ends: true };
      // COM_STMT_PREPARE_OK: statement id, columns, parameters; their definitions follow when nonzero.
      if (body.length >= 9) {
        this.#remember(uint32LE(body, 1), prepared);
        // Parameter and column definitions follow when there are any; their end is not followed.
        return { begins: true, ends: uint16LE(body, 5) === 0 && uint16LE(body, 7) === 0 ? true : 'unknown' };
      }
    }
    // A result set: its column count, a length-encoded integer below 251 for any real query.
    if (header !== undefined && header > 0 && header < 251 && bodyBytes === 1) {
      this.#resultSet = { columnsLeft: header, rows: false };
      return { begins: true, ends: false };
    }
    return { begins: true, ends: 'unknown' };
  }

  #remember(id: number, statement: string): void {
    this.#statements.set(id, statement);
    if (this.#statements.size > MAX_STATEMENTS) this.#statements.delete(this.#statements.keys().next().value!);
  }
}

/** ERR packet: 0xff, error code, then '#' and the SQLSTATE (protocol 4.1), then the message. */
function errorMark(body: Uint8Array): Pick<ResponseMark, 'error' | 'attributes'> {
  const code = body.length >= 3 ? String(uint16LE(body, 1)) : '';
  const hasState = body[3] === 0x23; /* # */
  const attributes: Record<string, string> = { 'db.response.status_code': code };
  if (hasState) attributes['db.response.sql_state'] = ascii(body, 4, 9);
  return { error: { code, message: text(body, hasState ? 9 : 3) }, attributes };
}
