// HTTP/1.x: request line, Host and traceparent of requests; status of responses. Bodies are skipped
// by Content-Length or chunked framing so that pipelined messages in one syscall are all found.
import { ascii, indexOfCrlf } from './bytes.js';
import { Framer, type FrameRead } from './framer.js';
import type { ParsedRequest, ProtocolParser, ResponseMark } from './protocol.js';
import type { SocketEvent } from './socket-event.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const requestLine = /^([A-Z]{3,7}) (\S+) HTTP\/1\.[01]$/;
const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/;
const traceparentValue = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}/;

/** True when `bytes` could still become the start of an HTTP/1 request or response line. */
export function looksLikeHttp(bytes: Uint8Array): boolean {
  const head = ascii(bytes, 0, Math.min(bytes.length, 8));
  if (head.startsWith('HTTP/1.') || 'HTTP/1.'.startsWith(head)) return head.length > 0;
  const space = head.indexOf(' ');
  const word = space < 0 ? head : head.slice(0, space);
  if (space >= 0) return METHODS.has(word);
  return word.length > 0 && [...METHODS].some((m) => m.startsWith(word));
}

interface Head {
  startLine: string;
  /** The headers read (KEPT_HEADERS), by lowercase name; the last of a repeated one wins. */
  headers: Map<string, string>;
  /** Bytes of the start line and headers (with the blank line); undefined when the capture cut them. */
  length: number | undefined;
}

/** The headers spans use; the others are skipped by a byte scan, never decoded (decoding every header was most of the parse). */
const KEPT_HEADERS = ['host', 'traceparent', 'content-length', 'transfer-encoding'].map((name) => ({
  name,
  codes: Uint8Array.from(name, (c) => c.charCodeAt(0)),
}));
/** The kept headers by name length (their lengths differ): most header names are rejected by one lookup. */
const KEPT_BY_LENGTH: (typeof KEPT_HEADERS)[number][] = [];
for (const kept of KEPT_HEADERS) {
  if (KEPT_BY_LENGTH[kept.name.length]) throw new Error(`two kept headers of length ${kept.name.length}`);
  KEPT_BY_LENGTH[kept.name.length] = kept;
}

/** What String.prototype.trim removes, among latin1 characters. */
function isTrimmed(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0;
}

/** The kept header whose name is buf[start, end) up to case and surrounding whitespace, if any. */
function keptHeader(buf: Uint8Array, start: number, end: number): string | undefined {
  while (start < end && isTrimmed(buf[start]!)) start++;
  while (end > start && isTrimmed(buf[end - 1]!)) end--;
  const kept = KEPT_BY_LENGTH[end - start];
  if (kept === undefined) return undefined;
  const { codes } = kept;
  for (let i = 0; i < codes.length; i++) {
    const b = buf[start + i]!;
    const c = codes[i]!;
    // The names are lowercase letters and '-': an uppercase byte matches its lowercase letter.
    if (b !== c && !(c >= 0x61 && c <= 0x7a && b === c - 0x20)) return undefined;
  }
  return kept.name;
}

function readHead(buf: Uint8Array, streamBytes: number): Head | 'incomplete' | 'not-http' {
  const lineEnd = indexOfCrlf(buf);
  const cut = buf.length < streamBytes;
  if (lineEnd < 0) {
    if (!looksLikeHttp(buf)) return 'not-http';
    return cut ? { startLine: ascii(buf), headers: new Map(), length: undefined } : 'incomplete';
  }
  const startLine = ascii(buf, 0, lineEnd);
  if (!requestLine.test(startLine) && !statusLine.test(startLine)) return 'not-http';
  const headers = new Map<string, string>();
  let at = lineEnd + 2;
  for (;;) {
    const end = indexOfCrlf(buf, at);
    if (end < 0) {
      if (!cut) return 'incomplete';
      return { startLine, headers, length: undefined };
    }
    if (end === at) return { startLine, headers, length: end + 2 };
    const colon = buf.indexOf(0x3a, at);
    const name = colon > at && colon < end ? keptHeader(buf, at, colon) : undefined;
    if (name !== undefined) headers.set(name, ascii(buf, colon + 1, end).trim());
    at = end + 2;
  }
}

/** How the body after a head is framed, in stream bytes from the head's end. */
type Body = { kind: 'none' } | { kind: 'length'; bytes: number } | { kind: 'chunked' } | { kind: 'until-close' };

function bodyOf(headers: Map<string, string>, noBody: boolean, untilCloseDefault: boolean): Body {
  if (noBody) return { kind: 'none' };
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) return { kind: 'chunked' };
  const length = headers.get('content-length');
  if (length !== undefined && /^\d+$/.test(length)) return { kind: 'length', bytes: Number(length) };
  return untilCloseDefault ? { kind: 'until-close' } : { kind: 'none' };
}

const LAST_CHUNK = [13, 10, 48, 13, 10, 13, 10]; // \r\n0\r\n\r\n

/** End (exclusive) of a chunked body's last chunk within the captured bytes, searched from `from`. */
function lastChunkEnd(buf: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from); i + LAST_CHUNK.length <= buf.length; i++) {
    for (let j = 0; j < LAST_CHUNK.length; j++) if (buf[i + j] !== LAST_CHUNK[j]) continue outer;
    return i + LAST_CHUNK.length;
  }
  return -1;
}

type Message = { kind: 'head'; head: Head; body: Body; complete: boolean } | { kind: 'body'; lastChunk: boolean };

/** url.path and url.query of a request target, query values replaced by `?`. */
export function splitTarget(target: string): { path: string; query: string | undefined } {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) || '/' : target;
  const noFragment = rest.split('#')[0] ?? '';
  const q = noFragment.indexOf('?');
  if (q < 0) return { path: noFragment, query: undefined };
  const query = noFragment
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => `${pair.split('=')[0] ?? ''}=?`)
    .join('&');
  return { path: noFragment.slice(0, q), query };
}

/** server.address and server.port from a Host header (`[::1]:8080`, `example.com`). */
function splitHost(host: string): { address: string; port: string | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  return { address: (m?.[1] ?? host).replace(/^\[|\]$/g, ''), port: m?.[2] };
}

export function parseTraceparent(value: string | undefined): ParsedRequest['traceparent'] {
  const m = value === undefined ? null : traceparentValue.exec(value.toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, parentSpanId: m[2]! };
}

class Direction {
  /** The last message's body runs on with no length we know (chunked past the capture, until close). */
  openBody: Body['kind'] = 'none';
  readonly framer: Framer<Message>;

  /** `noBody`: the response being read answers a HEAD request. */
  constructor(isResponse: boolean, noBody: () => boolean) {
    this.framer = new Framer<Message>((buf, streamBytes) => this.read(buf, streamBytes, isResponse, noBody()));
  }

  private read(buf: Uint8Array, streamBytes: number, isResponse: boolean, noBody: boolean): FrameRead<Message> {
    const head = readHead(buf, streamBytes);
    if (head === 'incomplete') return 'incomplete';
    if (head === 'not-http') {
      if (this.openBody === 'none') return 'invalid';
      const tail = buf.length === streamBytes ? lastChunkEnd(buf, buf.length - LAST_CHUNK.length) : -1;
      const lastChunk = this.openBody === 'chunked' && (tail === buf.length || (buf.length === 5 && ascii(buf) === '0\r\n\r\n'));
      return { length: streamBytes, frame: { kind: 'body', lastChunk } };
    }
    const isStatus = head.startLine.startsWith('HTTP/');
    if (isStatus !== isResponse) return 'invalid';
    const status = Number(statusLine.exec(head.startLine)?.[1] ?? 0);
    const bodiless = isResponse && (noBody || status < 200 || status === 204 || status === 304);
    const body = bodyOf(head.headers, bodiless, isResponse);
    if (head.length === undefined) return { length: streamBytes, frame: { kind: 'head', head, body, complete: false } };
    switch (body.kind) {
      case 'none':
        return { length: head.length, frame: { kind: 'head', head, body, complete: true } };
      case 'length':
        return { length: head.length + body.bytes, frame: { kind: 'head', head, body, complete: head.length + body.bytes <= streamBytes } };
      case 'chunked': {
        const end = lastChunkEnd(buf, head.length - 2);
        if (end >= 0) return { length: end, frame: { kind: 'head', head, body, complete: true } };
        return { length: streamBytes, frame: { kind: 'head', head, body, complete: false } };
      }
      case 'until-close':
        return { length: streamBytes, frame: { kind: 'head', head, body, complete: false } };
    }
  }

  /** Tracks whether the bytes after this message are its body; true when the message is complete. */
  settle(message: Message): boolean {
    if (message.kind === 'body') {
      if (message.lastChunk) this.openBody = 'none';
      return message.lastChunk;
    }
    // A head cut by the capture: what follows, up to the next start line, is taken as its rest.
    this.openBody = message.complete ? 'none' : message.body.kind === 'none' ? 'length' : message.body.kind;
    return message.complete;
  }
}

export class HttpParser implements ProtocolParser {
  readonly protocol = 'http';
  opaque = false;
  /** Methods of requests not yet answered: a response to HEAD has no body. */
  #methods: string[] = [];
  #requests = new Direction(false, () => false);
  #responses = new Direction(true, () => this.#methods[0] === 'HEAD');
  /** The last response's body runs past its syscall by Content-Length: it ends when the framer has skipped it. */
  #awaitingLengthEnd = false;

  get unparsed(): number {
    return this.#requests.framer.invalid + this.#responses.framer.invalid;
  }

  fromClient(event: SocketEvent): ParsedRequest[] {
    const out: ParsedRequest[] = [];
    for (const { frame, first } of this.#requests.framer.push(event)) {
      this.#requests.settle(frame);
      if (frame.kind !== 'head') continue;
      const m = requestLine.exec(frame.head.startLine) ?? /^([A-Z]+) (\S+)/.exec(frame.head.startLine);
      const method = m?.[1] ?? frame.head.startLine.split(' ')[0] ?? '';
      const target = splitTarget(m?.[2] ?? '');
      const attributes: Record<string, string> = { 'http.request.method': method };
      if (target.path) attributes['url.path'] = target.path;
      if (target.query !== undefined) attributes['url.query'] = target.query;
      const host = frame.head.headers.get('host');
      if (host) {
        const { address, port } = splitHost(host);
        attributes['server.address'] = address;
        if (port) attributes['server.port'] = port;
      }
      if (this.#methods.length < 1024) this.#methods.push(method);
      const traceparent = parseTraceparent(frame.head.headers.get('traceparent'));
      out.push({ first, name: target.path ? `${method} ${target.path}` : method, attributes, ...(traceparent && { traceparent }) });
    }
    return out;
  }

  fromServer(event: SocketEvent): ResponseMark[] {
    const out: ResponseMark[] = [];
    const frames = this.#responses.framer.push(event);
    if (this.#awaitingLengthEnd && this.#responses.framer.endedSkippedFrame) {
      this.#awaitingLengthEnd = false;
      this.#responses.openBody = 'none';
      out.push({ begins: false, ends: true });
    }
    for (const { frame } of frames) {
      const complete = this.#responses.settle(frame);
      if (frame.kind === 'body') {
        if (complete) out.push({ begins: false, ends: true });
        continue;
      }
      const status = Number(statusLine.exec(frame.head.startLine)?.[1] ?? 0);
      // 101 answers its request and hands the connection to another protocol (WebSocket); other 1xx are interim.
      if (status === 101) {
        this.opaque = true;
        this.#methods.shift();
        out.push({ begins: true, ends: true, httpStatus: status });
        continue;
      }
      if (status >= 100 && status < 200) continue;
      this.#methods.shift();
      this.#awaitingLengthEnd = !complete && frame.body.kind === 'length' && frame.head.length !== undefined;
      const known = frame.head.length !== undefined && frame.body.kind !== 'until-close';
      out.push({ begins: true, ends: complete ? true : known ? false : 'unknown', httpStatus: status });
    }
    return out;
  }
}
