// The records the native SignalSession hands over (bpf/sched.h, bpf/retransmits.h), decoded at the
// fixed offsets of those structs on x86-64 and arm64 (natural alignment, little endian).
import { address } from '../spans/decode-events.js';

/** sizeof(struct sched_episode). */
export const EPISODE_SIZE = 64;
/** sizeof(struct retransmit_event). */
export const RETRANSMIT_EVENT_SIZE = 64;
/** sizeof(struct cgroup_wait_key) + sizeof(struct cgroup_wait): the key, then its value. */
export const CGROUP_WAIT_SIZE = 16 + 16 + 8 * 32;
/** sizeof(struct tcp_tuple) + sizeof(struct retransmit_count): the key, then its value. */
export const CONNECTION_SIZE = 40 + 72;
const HIST_BUCKETS = 32;

export type WaitKind = 'runqueue' | 'throttle';
const waitKinds: Record<number, WaitKind> = { 0: 'runqueue', 1: 'throttle' };

export interface SchedEpisode {
  kind: WaitKind;
  /** CLOCK_MONOTONIC ns when the wait began. */
  startNs: bigint;
  durationNs: number;
  cgroupId: bigint;
  /** The span its thread was serving, 0n if none. */
  spanId: bigint;
  pid: number;
  tid: number;
  comm: string;
}

export interface CgroupWaits {
  cgroupId: bigint;
  kind: WaitKind;
  totalNs: number;
  count: number;
  /** [i]: waits of [2^i, 2^(i+1)) µs. */
  histogram: number[];
}

/** A connection as its local end sees it. */
export interface TcpTuple {
  family: 'ipv4' | 'ipv6';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface RetransmitEvent {
  /** CLOCK_MONOTONIC ns. */
  tsNs: bigint;
  connection: TcpTuple;
  segments: number;
  /** The socket's owner, 0 if unknown. */
  pid: number;
}

export interface ConnectionRetransmits {
  connection: TcpTuple;
  /** The socket's owner: pid 0 if unknown. */
  pid: number;
  tid: number;
  comm: string;
  cgroupId: bigint;
  segments: number;
  hits: number;
  firstNs: bigint;
  lastNs: bigint;
  state: string;
  synack: boolean;
}

/** Fails when the addon was built from other headers than these decoders: its records would decode to garbage. */
export function checkRecordSizes(sizes: { episode: number; retransmitEvent: number; cgroupWait: number; connection: number }): void {
  const expected = {
    episode: EPISODE_SIZE,
    retransmitEvent: RETRANSMIT_EVENT_SIZE,
    cgroupWait: CGROUP_WAIT_SIZE,
    connection: CONNECTION_SIZE,
  };
  const wrong = (Object.keys(expected) as (keyof typeof expected)[]).filter((k) => sizes[k] !== expected[k]);
  if (wrong.length > 0)
    throw new Error(
      `the signal session's records do not match bpf/sched.h and bpf/retransmits.h as the agent reads them (${wrong
        .map((k) => `${k}: ${sizes[k]} bytes, expected ${expected[k]}`)
        .join('; ')}); rebuild the agent's native addon`,
    );
}

/** include/net/tcp_states.h */
const tcpStates = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

export function tcpStateName(state: number): string {
  return tcpStates[state] || `UNKNOWN_${state}`;
}

const utf8 = new TextDecoder('utf-8');

function comm(bytes: Uint8Array, at: number): string {
  const end = bytes.indexOf(0, at);
  return utf8.decode(bytes.subarray(at, end < 0 || end > at + 16 ? at + 16 : end));
}

/**
 * Each record of `size` bytes in `buf`, decoded; a record the kernel could not have written (an
 * unknown kind or family) or a cut one at the end goes to `onMalformed`, the others are kept.
 */
function decodeRecords<T>(
  buf: ArrayBuffer,
  size: number,
  decodeOne: (view: DataView, bytes: Uint8Array, o: number) => T | string,
  onMalformed?: (reason: string) => void,
): T[] {
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const out: T[] = [];
  const whole = buf.byteLength - (buf.byteLength % size);
  if (whole !== buf.byteLength) onMalformed?.(`${buf.byteLength - whole} stray bytes after ${whole / size} records of ${size}`);
  for (let o = 0; o < whole; o += size) {
    const record = decodeOne(view, bytes, o);
    if (typeof record === 'string') onMalformed?.(record);
    else out.push(record);
  }
  return out;
}

export function decodeEpisodes(buf: ArrayBuffer, onMalformed?: (reason: string) => void): SchedEpisode[] {
  return decodeRecords(
    buf,
    EPISODE_SIZE,
    (view, bytes, o) => {
      const kind = waitKinds[view.getUint8(o + 40)];
      if (kind === undefined) return `an episode of unknown kind ${view.getUint8(o + 40)}`;
      return {
        kind,
        startNs: view.getBigUint64(o, true),
        durationNs: Number(view.getBigUint64(o + 8, true)),
        cgroupId: view.getBigUint64(o + 16, true),
        spanId: view.getBigUint64(o + 24, true),
        pid: view.getUint32(o + 32, true),
        tid: view.getUint32(o + 36, true),
        comm: comm(bytes, o + 48),
      };
    },
    onMalformed,
  );
}

export function decodeCgroupWaits(buf: ArrayBuffer, onMalformed?: (reason: string) => void): CgroupWaits[] {
  return decodeRecords(
    buf,
    CGROUP_WAIT_SIZE,
    (view, _bytes, o) => {
      const kind = waitKinds[view.getUint32(o + 8, true)];
      if (kind === undefined) return `cgroup waits of unknown kind ${view.getUint32(o + 8, true)}`;
      const histogram: number[] = [];
      for (let i = 0; i < HIST_BUCKETS; i++) histogram.push(Number(view.getBigUint64(o + 32 + 8 * i, true)));
      // Trailing empty buckets say nothing: most waits are short.
      while (histogram.length > 0 && histogram[histogram.length - 1] === 0) histogram.pop();
      return {
        cgroupId: view.getBigUint64(o, true),
        kind,
        totalNs: Number(view.getBigUint64(o + 16, true)),
        count: Number(view.getBigUint64(o + 24, true)),
        histogram,
      };
    },
    onMalformed,
  );
}

const AF_INET = 2;
const AF_INET6 = 10;

/** struct tcp_tuple at `o`, or why it is not one. */
function tuple(view: DataView, bytes: Uint8Array, o: number): TcpTuple | string {
  const familyCode = view.getUint8(o);
  if (familyCode !== AF_INET && familyCode !== AF_INET6) return `a connection of unknown address family ${familyCode}`;
  const family = familyCode === AF_INET ? 4 : 6;
  return {
    family: family === 4 ? 'ipv4' : 'ipv6',
    localPort: view.getUint16(o + 4, true),
    remotePort: view.getUint16(o + 6, true),
    localAddress: address(bytes.subarray(o + 8, o + 24), family),
    remoteAddress: address(bytes.subarray(o + 24, o + 40), family),
  };
}

export function decodeRetransmitEvents(buf: ArrayBuffer, onMalformed?: (reason: string) => void): RetransmitEvent[] {
  return decodeRecords(
    buf,
    RETRANSMIT_EVENT_SIZE,
    (view, bytes, o) => {
      const connection = tuple(view, bytes, o + 8);
      if (typeof connection === 'string') return connection;
      return { tsNs: view.getBigUint64(o, true), connection, segments: view.getUint32(o + 48, true), pid: view.getUint32(o + 52, true) };
    },
    onMalformed,
  );
}

export function decodeConnectionRetransmits(buf: ArrayBuffer, onMalformed?: (reason: string) => void): ConnectionRetransmits[] {
  return decodeRecords(
    buf,
    CONNECTION_SIZE,
    (view, bytes, o) => {
      const connection = tuple(view, bytes, o);
      if (typeof connection === 'string') return connection;
      const v = o + 40;
      return {
        connection,
        cgroupId: view.getBigUint64(v, true),
        pid: view.getUint32(v + 8, true),
        tid: view.getUint32(v + 12, true),
        comm: comm(bytes, v + 16),
        segments: Number(view.getBigUint64(v + 32, true)),
        hits: Number(view.getBigUint64(v + 40, true)),
        firstNs: view.getBigUint64(v + 48, true),
        lastNs: view.getBigUint64(v + 56, true),
        state: tcpStateName(view.getUint8(v + 64)),
        synack: view.getUint8(v + 65) !== 0,
      };
    },
    onMalformed,
  );
}
