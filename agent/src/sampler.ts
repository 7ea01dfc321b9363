// The CPU sampler (bpf/profile.bpf.c) seen from TypeScript: drains become column arrays.
import { native, type BpfSessionOptions, type NativeBpfSession, type SessionStats } from './native.js';

/** One row per distinct `struct sample_key` (bpf/profile.h: process, thread, stacks, generation, span), with its sample count. */
export interface SampleBatch {
  length: number;
  tgid: Uint32Array;
  tid: Uint32Array;
  userStack: BigUint64Array;
  kernelStack: BigUint64Array;
  generation: Uint32Array;
  userStackError: Int32Array;
  /** The span the thread was serving (span capture's thread stamp), 0n for none. */
  spanId: BigUint64Array;
  count: Float64Array;
}

/** Stack hash → frames, leaf first. */
export type StackTable = Map<bigint, BigUint64Array>;

export interface Drained {
  samples: SampleBatch;
  stacks: StackTable;
}

export type ProcessEventKind = 'new' | 'exec' | 'exit';
export interface ProcessEvent {
  kind: ProcessEventKind;
  pid: number;
  generation: number;
  /** The process's name as the kernel had it when the event was made (the new one on exec). */
  comm: string;
  kernelThread: boolean;
}

const eventKinds: Record<number, ProcessEventKind> = { 1: 'new', 2: 'exec', 3: 'exit' };
// `struct process_event` (bpf/profile.h).
const PROCESS_EVENT_SIZE = 32;
const COMM_OFFSET = 16;
const COMM_LEN = 16;
const PROCESS_KERNEL_THREAD = 1;

export class CpuSampler {
  readonly #session: NativeBpfSession;

  constructor(options: BpfSessionOptions) {
    this.#session = new (native().BpfSession)(options);
  }

  drain(): Drained {
    const raw = this.#session.drain();
    return { samples: parseSamples(raw.samples, raw.sampleRecordSize), stacks: parseStacks(raw.stacks, raw.stackRecordSize) };
  }

  events(): ProcessEvent[] {
    const buf = this.#session.pollEvents();
    const view = new DataView(buf);
    const bytes = new Uint8Array(buf);
    const out: ProcessEvent[] = [];
    for (let o = 0; o + PROCESS_EVENT_SIZE <= buf.byteLength; o += PROCESS_EVENT_SIZE) {
      const kind = eventKinds[view.getUint32(o, true)];
      if (kind === undefined) continue;
      out.push({
        kind,
        pid: view.getUint32(o + 4, true),
        generation: view.getUint32(o + 8, true),
        comm: commOf(bytes.subarray(o + COMM_OFFSET, o + COMM_OFFSET + COMM_LEN)),
        kernelThread: (view.getUint32(o + 12, true) & PROCESS_KERNEL_THREAD) !== 0,
      });
    }
    return out;
  }

  /** Calls `callback` `delayMs` after process events arrive (then read them with events()); the loop sleeps while none do. */
  watchEvents(callback: () => void, delayMs: number): void {
    this.#session.watchEvents(callback, delayMs);
  }

  stats(): SessionStats {
    return this.#session.stats();
  }

  /** Stops sampling; the two map generations can still be drained (call drain() twice). */
  stop(): void {
    this.#session.stop();
  }

  close(): void {
    this.#session.close();
  }
}

/** A NUL-terminated comm, decoded as /proc/<pid>/comm is read: bytes that are not UTF-8 become U+FFFD. */
function commOf(field: Uint8Array): string {
  const end = field.indexOf(0);
  return utf8.decode(end === -1 ? field : field.subarray(0, end));
}
const utf8 = new TextDecoder();

function parseSamples(buf: ArrayBuffer, size: number): SampleBatch {
  const n = buf.byteLength / size;
  const view = new DataView(buf);
  const batch: SampleBatch = {
    length: n,
    tgid: new Uint32Array(n),
    tid: new Uint32Array(n),
    userStack: new BigUint64Array(n),
    kernelStack: new BigUint64Array(n),
    generation: new Uint32Array(n),
    userStackError: new Int32Array(n),
    spanId: new BigUint64Array(n),
    count: new Float64Array(n),
  };
  for (let i = 0, o = 0; i < n; i++, o += size) {
    batch.tgid[i] = view.getUint32(o, true);
    batch.tid[i] = view.getUint32(o + 4, true);
    batch.userStack[i] = view.getBigUint64(o + 8, true);
    batch.kernelStack[i] = view.getBigUint64(o + 16, true);
    batch.generation[i] = view.getUint32(o + 24, true);
    batch.userStackError[i] = view.getInt32(o + 28, true);
    batch.spanId[i] = view.getBigUint64(o + 32, true);
    batch.count[i] = Number(view.getBigUint64(o + 40, true));
  }
  return batch;
}

function parseStacks(buf: ArrayBuffer, size: number): StackTable {
  const table: StackTable = new Map();
  const words = size / 8;
  const all = new BigUint64Array(buf);
  for (let o = 0; o < all.length; o += words) {
    const hash = all[o] ?? 0n;
    let depth = 0;
    while (depth < words - 1 && all[o + 1 + depth] !== 0n) depth++;
    table.set(hash, all.slice(o + 1, o + 1 + depth));
  }
  return table;
}
