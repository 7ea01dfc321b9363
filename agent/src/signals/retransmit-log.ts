// Recent retransmits by connection, so that a span finished later can count those on its own
// connection while it was open. Kept for a while after they happen (spans end up to a few seconds
// after their last byte), bounded in count.
import type { RetransmitEvent } from './decode.js';

/** A connection's name as both ends of the pipeline see it; an IPv4-mapped IPv6 address is its IPv4 one, as a dual-stack socket may be reported either way. */
export function connectionKey(localAddress: string, localPort: number, remoteAddress: string, remotePort: number): string {
  return `${unmapped(localAddress)}:${localPort}>${unmapped(remoteAddress)}:${remotePort}`;
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface RetransmitLogOptions {
  /** How long a retransmit is kept, in ns of CLOCK_MONOTONIC (default 60 s). */
  keepNs?: bigint;
  /** Retransmits kept at most (default 65536); the oldest go first. */
  maxEvents?: number;
}

interface Logged {
  tsNs: bigint;
  segments: number;
}

export class RetransmitLog {
  readonly #byConnection = new Map<string, Logged[]>();
  #size = 0;
  readonly #keepNs: bigint;
  readonly #max: number;
  /** Retransmits forgotten for room before their time. */
  evicted = 0;

  constructor(opts: RetransmitLogOptions = {}) {
    this.#keepNs = opts.keepNs ?? 60_000_000_000n;
    this.#max = opts.maxEvents ?? 65536;
  }

  add(event: RetransmitEvent): void {
    const c = event.connection;
    const key = connectionKey(c.localAddress, c.localPort, c.remoteAddress, c.remotePort);
    let list = this.#byConnection.get(key);
    if (list === undefined) this.#byConnection.set(key, (list = []));
    list.push({ tsNs: event.tsNs, segments: event.segments });
    if (++this.#size > this.#max) this.#evictOldest();
  }

  /** Segments retransmitted on `key` at times in [startNs, endNs]. */
  segments(key: string, startNs: bigint, endNs: bigint): number {
    let n = 0;
    for (const e of this.#byConnection.get(key) ?? []) if (e.tsNs >= startNs && e.tsNs <= endNs) n += e.segments;
    return n;
  }

  /** Forgets what is older than the keep time at `nowNs`. */
  prune(nowNs: bigint): void {
    const before = nowNs - this.#keepNs;
    for (const [key, list] of this.#byConnection) {
      const kept = list.filter((e) => e.tsNs >= before);
      this.#size -= list.length - kept.length;
      if (kept.length === 0) this.#byConnection.delete(key);
      else if (kept.length !== list.length) this.#byConnection.set(key, kept);
    }
  }

  #evictOldest(): void {
    // Connections in insertion order: the first one's first retransmit is among the oldest.
    const first = this.#byConnection.entries().next().value;
    if (first === undefined) return;
    const [key, list] = first;
    list.shift();
    this.#size--;
    this.evicted++;
    if (list.length === 0) this.#byConnection.delete(key);
  }
}
