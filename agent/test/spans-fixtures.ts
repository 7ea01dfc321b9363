// Socket events as the kernel would hand them over, and the byte encodings of the protocols the
// span tests speak, written from each protocol's specification.
import type { AgentSpan } from '@kiln/api/http';
import type { SocketEvent } from '../src/spans/socket-event.js';
import { SpanTracker, type SpanTrackerOptions } from '../src/spans/tracker.js';

export const MS = 1_000_000n;
/** Unix time of monotonic 0 in these tests. */
export const EPOCH_NS = 1_700_000_000_000_000_000n;

const enc = new TextEncoder();
export const bytes = (...parts: (string | Uint8Array | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p))));

export function tracker(options: Partial<SpanTrackerOptions> = {}): { tracker: SpanTracker; spans: AgentSpan[] } {
  const spans: AgentSpan[] = [];
  const t = new SpanTracker({
    monotonicToUnixNs: EPOCH_NS,
    labelsOf: (pid) => ({ service: `svc-${pid}` }),
    onSpan: (span) => spans.push(span),
    ...options,
  });
  return { tracker: t, spans };
}

interface EventOptions {
  /** Monotonic time; default: 1 ms after the previous event of this connection. */
  at?: bigint;
  spanId?: bigint;
  requestStart?: boolean;
  tid?: number;
  /** Bytes the syscall moved when more than the payload (a capture cut at the payload's end). */
  bytes?: number;
}

let nextConnId = 1n;

/** One connection of one process, pushing its events into a tracker. */
export class Connection {
  readonly connId = nextConnId++;
  now: bigint;

  constructor(
    private readonly tracker: SpanTracker,
    private readonly role: 'server' | 'client',
    private readonly serverPort: number,
    private readonly options: { pid?: number; tid?: number; start?: bigint } = {},
  ) {
    this.now = options.start ?? 1000n * MS;
  }

  read(payload: Uint8Array | string, o: EventOptions = {}): this {
    return this.#event('read', payload, o);
  }

  write(payload: Uint8Array | string, o: EventOptions = {}): this {
    return this.#event('write', payload, o);
  }

  close(o: EventOptions = {}): this {
    return this.#event('close', new Uint8Array(0), o);
  }

  #event(kind: SocketEvent['kind'], payload: Uint8Array | string, o: EventOptions): this {
    this.now = o.at ?? this.now + MS;
    const data = typeof payload === 'string' ? bytes(payload) : payload;
    const server = this.role === 'server';
    this.tracker.push({
      kind,
      tsNs: this.now,
      connId: this.connId,
      spanId: o.spanId ?? 0n,
      requestStart: o.requestStart ?? o.spanId !== undefined,
      pid: this.options.pid ?? 100,
      tid: o.tid ?? this.options.tid ?? 101,
      fd: 7,
      role: this.role,
      bytes: o.bytes ?? data.length,
      payload: data,
      family: 4,
      localAddr: '10.0.0.1',
      localPort: server ? this.serverPort : 40000,
      remoteAddr: '10.0.0.2',
      remotePort: server ? 40000 : this.serverPort,
    });
    return this;
  }
}

/** A PostgreSQL message: type byte, int32 length (itself included), body; strings NUL-terminated. */
export function pg(type: string, ...fields: (string | number[])[]): Uint8Array {
  const body = bytes(...fields.map((f) => (typeof f === 'string' ? bytes(f, [0]) : Uint8Array.from(f))));
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return bytes(header, body);
}

export function pgStartup(user: string): Uint8Array {
  const body = bytes('user', [0], user, [0], [0]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(body.length + 8, 0);
  header.writeInt32BE(196608, 4);
  return bytes(header, body);
}

export const int16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const int32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** A RESP command: an array of bulk strings. */
export function resp(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** A MySQL packet: 3-byte little-endian length, sequence id, payload. */
export function mysql(seq: number, ...body: (string | number[])[]): Uint8Array {
  const payload = bytes(...body);
  return bytes([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, seq], payload);
}

export const le32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
