// The bytes SpanSession.poll() returns, as SocketEvents: records of a u32 length, then
// `struct socket_event` (bpf/spans.h) and its payload.
import type { ConnRole, SocketEvent, SocketEventKind } from './socket-event.js';

/** sizeof(struct socket_event), checked by a static_assert in agent/native/src/span_session.cc. */
export const SOCKET_EVENT_SIZE = 88;
const LENGTH_SIZE = 4;

const kinds: Record<number, SocketEventKind> = { 1: 'read', 2: 'write', 3: 'close' };
const roles: Record<number, ConnRole> = { 0: 'unknown', 1: 'server', 2: 'client' };
const EVENT_REQUEST_START = 1;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Every well-formed record in `buf`. A record the kernel could not have written (cut short, an
 * unknown kind, role or family) is reported to `onMalformed` and skipped; the others are kept. A
 * length that runs past the buffer ends the decode: nothing after it can be framed.
 */
export function decodeSocketEvents(buf: ArrayBuffer, onMalformed?: (reason: string) => void): SocketEvent[] {
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const events: SocketEvent[] = [];
  let o = 0;
  while (o < buf.byteLength) {
    if (o + LENGTH_SIZE > buf.byteLength) {
      onMalformed?.(`${buf.byteLength - o} stray bytes at the end of the batch`);
      break;
    }
    const length = view.getUint32(o, true);
    const start = o + LENGTH_SIZE;
    if (start + length > buf.byteLength) {
      onMalformed?.(`a record of ${length} bytes runs past the batch's end`);
      break;
    }
    o = start + length;
    const event = length >= SOCKET_EVENT_SIZE ? decodeOne(view, bytes, start, length) : undefined;
    if (event !== undefined) events.push(event);
    else onMalformed?.(`a record of ${length} bytes is not a socket event`);
  }
  return events;
}

function decodeOne(view: DataView, bytes: Uint8Array, o: number, length: number): SocketEvent | undefined {
  const captured = view.getUint16(o + 40, true);
  const kind = kinds[view.getUint8(o + 42)];
  const role = roles[view.getUint8(o + 43)];
  const familyCode = view.getUint8(o + 45);
  if (kind === undefined || role === undefined || SOCKET_EVENT_SIZE + captured > length) return undefined;
  if (familyCode !== AF_INET && familyCode !== AF_INET6) return undefined;
  const family = familyCode === AF_INET ? 4 : 6;
  return {
    kind,
    tsNs: view.getBigUint64(o, true),
    connId: view.getBigUint64(o + 8, true),
    spanId: view.getBigUint64(o + 16, true),
    requestStart: (view.getUint8(o + 44) & EVENT_REQUEST_START) !== 0,
    pid: view.getUint32(o + 24, true),
    tid: view.getUint32(o + 28, true),
    fd: view.getInt32(o + 32, true),
    role,
    bytes: view.getUint32(o + 36, true),
    // A copy: the events outlive the buffer's batch in the parsers' per-connection state.
    payload: bytes.slice(o + SOCKET_EVENT_SIZE, o + SOCKET_EVENT_SIZE + captured),
    family,
    localPort: view.getUint16(o + 46, true),
    remotePort: view.getUint16(o + 48, true),
    localAddr: cachedAddress(view, bytes, o + 52, family),
    remoteAddr: cachedAddress(view, bytes, o + 68, family),
  };
}

/**
 * Formatted addresses by their raw bytes: a connection's two addresses recur in every one of its
 * events, and formatting them (IPv6 above all) was a large part of each event's decode, the
 * agent's JavaScript running unoptimized (bin/kiln.js).
 */
const addresses = new Map<string, string>();
const MAX_CACHED_ADDRESSES = 4096;

function cachedAddress(view: DataView, bytes: Uint8Array, at: number, family: 4 | 6): string {
  const key =
    family === 4
      ? String(view.getUint32(at, true))
      : `${view.getUint32(at, true)}:${view.getUint32(at + 4, true)}:${view.getUint32(at + 8, true)}:${view.getUint32(at + 12, true)}`;
  let text = addresses.get(key);
  if (text === undefined) {
    if (addresses.size >= MAX_CACHED_ADDRESSES) addresses.clear();
    text = address(bytes.subarray(at, at + 16), family);
    addresses.set(key, text);
  }
  return text;
}

/** Dotted quad, or IPv6 in its RFC 5952 form (as Node prints socket addresses). */
export function address(raw: Uint8Array, family: 4 | 6): string {
  if (family === 4) return `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((raw[i]! << 8) | raw[i + 1]!);
  // IPv4-mapped: a dual-stack socket's IPv4 peer.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${raw[12]}.${raw[13]}.${raw[14]}.${raw[15]}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
