// Redis RESP2/RESP3: the command name of each request (never its keys or values) and error replies.
// Values are skipped by their declared lengths, so pipelined commands and replies in one syscall
// are each found.
import { ascii, indexOfCrlf } from './bytes.js';
import { Framer, type FrameRead } from './framer.js';
import type { ParsedRequest, ProtocolParser, ResponseMark } from './protocol.js';
import type { SocketEvent } from './socket-event.js';

/** Commands whose first argument is a subcommand: `CLIENT SETNAME` names the span, not `CLIENT`. */
const CONTAINER_COMMANDS = new Set([
  'ACL',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'CONFIG',
  'FUNCTION',
  'LATENCY',
  'MEMORY',
  'MODULE',
  'OBJECT',
  'PUBSUB',
  'SCRIPT',
  'SLOWLOG',
  'XGROUP',
  'XINFO',
]);
const MAX_DEPTH = 8;
const LINE_TYPES = new Set('+-:_,#(');
const BULK_TYPES = new Set('$!=');
const AGGREGATE_TYPES = new Set('*~>');
const MAP_TYPES = new Set('%|');

/** 'cut': the value runs past the captured bytes of this syscall, its end cannot be known. */
type Skip = number | 'incomplete' | 'invalid' | 'cut';

function beyond(buf: Uint8Array, streamBytes: number): 'incomplete' | 'cut' {
  return buf.length < streamBytes ? 'cut' : 'incomplete';
}

/** The stream offset just past the RESP value at `at`. */
function skipValue(buf: Uint8Array, at: number, streamBytes: number, depth = 0): Skip {
  if (at >= buf.length) return at >= streamBytes ? 'incomplete' : 'cut';
  if (depth > MAX_DEPTH) return 'invalid';
  const type = String.fromCharCode(buf[at]!);
  if (!LINE_TYPES.has(type) && !BULK_TYPES.has(type) && !AGGREGATE_TYPES.has(type) && !MAP_TYPES.has(type)) return 'invalid';
  const lineEnd = indexOfCrlf(buf, at);
  if (lineEnd < 0) return buf.length - at > 512 ? 'invalid' : beyond(buf, streamBytes);
  const afterLine = lineEnd + 2;
  if (LINE_TYPES.has(type)) return afterLine;
  const header = ascii(buf, at + 1, lineEnd);
  if (!/^-?\d+$/.test(header)) return 'invalid';
  const n = Number(header);
  if (n < 0) return afterLine;
  if (BULK_TYPES.has(type)) return afterLine + n + 2;
  let pos = afterLine;
  for (let i = 0; i < (MAP_TYPES.has(type) ? 2 * n : n); i++) {
    const next = skipValue(buf, pos, streamBytes, depth + 1);
    if (typeof next !== 'number') return next;
    pos = next;
  }
  return pos;
}

/** The first `count` bulk strings of a command array, as far as they were captured. */
function firstArguments(buf: Uint8Array, count: number): string[] {
  const out: string[] = [];
  let at = indexOfCrlf(buf) + 2;
  while (out.length < count && at > 1 && at < buf.length && buf[at] === 36 /* $ */) {
    const lineEnd = indexOfCrlf(buf, at);
    if (lineEnd < 0) break;
    const n = Number(ascii(buf, at + 1, lineEnd));
    out.push(ascii(buf, lineEnd + 2, Math.min(buf.length, lineEnd + 2 + n)));
    at = lineEnd + 2 + n + 2;
  }
  return out;
}

export function commandName(args: string[]): string {
  const command = (args[0] ?? '').toUpperCase();
  const sub = args[1];
  return CONTAINER_COMMANDS.has(command) && sub ? `${command} ${sub.toUpperCase()}` : command;
}

/** An inline command (`PING\r\n`, as redis-cli and telnet send): letters first, ended by a newline. */
function readInline(buf: Uint8Array, streamBytes: number): FrameRead<string[]> {
  const nl = buf.indexOf(10);
  if (nl < 0) return buf.length >= 512 ? 'invalid' : buf.length < streamBytes ? { length: streamBytes, frame: [ascii(buf)] } : 'incomplete';
  return { length: nl + 1, frame: ascii(buf, 0, nl).trim().split(/\s+/).slice(0, 2) };
}

function readCommand(buf: Uint8Array, streamBytes: number): FrameRead<string[]> {
  if (buf[0] !== 42 /* * */) return /^[A-Za-z]/.test(String.fromCharCode(buf[0] ?? 0)) ? readInline(buf, streamBytes) : 'invalid';
  const end = skipValue(buf, 0, streamBytes);
  if (end === 'incomplete' || end === 'invalid') return end;
  return { length: end === 'cut' ? streamBytes : end, frame: firstArguments(buf, 2) };
}

type Reply = { error: string | undefined; complete: boolean; push: boolean };

function readReply(buf: Uint8Array, streamBytes: number): FrameRead<Reply> {
  const end = skipValue(buf, 0, streamBytes);
  if (end === 'incomplete' || end === 'invalid') return end;
  const type = String.fromCharCode(buf[0]!);
  const lineEnd = indexOfCrlf(buf);
  let error: string | undefined;
  if (type === '-') error = ascii(buf, 1, lineEnd);
  if (type === '!') {
    const messageEnd = indexOfCrlf(buf, lineEnd + 2);
    error = ascii(buf, lineEnd + 2, messageEnd < 0 ? buf.length : messageEnd);
  }
  const length = end === 'cut' ? streamBytes : end;
  return { length, frame: { error, complete: end !== 'cut' && end <= streamBytes, push: type === '>' } };
}

/** True when the bytes begin a RESP command array (`*<n>\r\n$`). */
export function looksLikeRedisCommand(buf: Uint8Array): boolean {
  return /^\*\d{1,6}\r\n\$\d/.test(ascii(buf, 0, Math.min(buf.length, 12)));
}

export class RedisParser implements ProtocolParser {
  readonly protocol = 'redis';
  readonly opaque = false;
  #commands = new Framer<string[]>(readCommand);
  #replies = new Framer<Reply>(readReply);
  /** The last reply runs past its syscall by its declared lengths: it ends when the framer has skipped it. */
  #replyOpen = false;

  get unparsed(): number {
    return this.#commands.invalid + this.#replies.invalid;
  }

  fromClient(event: SocketEvent): ParsedRequest[] {
    return this.#commands.push(event).map(({ frame, first }) => {
      const name = commandName(frame) || 'redis';
      const attributes: Record<string, string> = { 'db.system.name': 'redis', 'db.operation.name': name };
      return { first, name, attributes };
    });
  }

  fromServer(event: SocketEvent): ResponseMark[] {
    const out: ResponseMark[] = [];
    const frames = this.#replies.push(event);
    if (this.#replyOpen && this.#replies.endedSkippedFrame) out.push({ begins: false, ends: true });
    for (const { frame } of frames) {
      // RESP3 pushes (pub/sub messages, invalidations) answer no request.
      if (frame.push) continue;
      this.#replyOpen = !frame.complete;
      const mark: ResponseMark = { begins: true, ends: frame.complete };
      if (frame.error !== undefined) {
        const code = frame.error.split(' ')[0] ?? 'ERR';
        mark.error = { code, message: frame.error };
        mark.attributes = { 'db.response.status_code': code };
      }
      out.push(mark);
    }
    return out;
  }
}
