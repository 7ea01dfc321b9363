// JIT symbol maps: /tmp/perf-<pid>.map as written by Node (--perf-basic-prof), the JVM
// (perf-map-agent, -XX:+DumpPerfMapAtExit) and others. One entry a line: `START SIZE name`,
// START and SIZE in hex (with or without 0x). The file only grows while the process runs,
// so it is read incrementally; a later entry for the same code wins.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const MAX_BYTES = 512 * 1024 * 1024;
const CHUNK = 1 << 20;

export class PerfMap {
  private starts: number[] = [];
  private ends: number[] = [];
  private names: string[] = [];
  /** Entry indices sorted by start; rebuilt lazily after a refresh added entries. */
  private order: Uint32Array = new Uint32Array(0);
  private sorted = true;
  private readBytes = 0;
  private tail = '';
  private decoder = new StringDecoder('utf8');
  private ino = -1;

  constructor(readonly path: string) {}

  get size(): number {
    return this.names.length;
  }

  /**
   * Reads what was appended since the last call (everything if the file was replaced or
   * shrank). Returns false if the file cannot be read; throws nothing.
   */
  refresh(): boolean {
    let fd: number;
    try {
      // Non-blocking: the file is in the profiled process's hands, a FIFO there must not hang us.
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return false;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return false;
      if (st.ino !== this.ino || st.size < this.readBytes) this.reset(st.ino);
      const until = Math.min(st.size, MAX_BYTES);
      const buf = Buffer.allocUnsafe(CHUNK);
      while (this.readBytes < until) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, until - this.readBytes), this.readBytes);
        if (n <= 0) break;
        this.readBytes += n;
        this.parse(this.tail + this.decoder.write(buf.subarray(0, n)));
      }
      return true;
    } catch {
      return false;
    } finally {
      closeSync(fd);
    }
  }

  lookup(addr: number): string | undefined {
    if (!this.sorted) this.sort();
    const order = this.order;
    // Last entry starting at or below addr.
    let lo = 0;
    let hi = order.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[order[mid] ?? 0] ?? 0) <= addr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    // Overlapping entries (recompiled code): the newest one containing addr wins. Look back a little.
    let best = -1;
    for (let k = found; k >= 0 && k > found - 64; k--) {
      const e = order[k] ?? 0;
      if (addr < (this.ends[e] ?? 0) && e > best) best = e;
    }
    return best >= 0 ? this.names[best] : undefined;
  }

  private reset(ino: number): void {
    this.starts = [];
    this.ends = [];
    this.names = [];
    this.order = new Uint32Array(0);
    this.sorted = true;
    this.readBytes = 0;
    this.tail = '';
    this.decoder = new StringDecoder('utf8');
    this.ino = ino;
  }

  private parse(text: string): void {
    const lines = text.split('\n');
    this.tail = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line.trimEnd());
      if (m === null) continue;
      const start = parseInt(m[1] ?? '', 16);
      const size = parseInt(m[2] ?? '', 16);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size)) continue;
      this.starts.push(start);
      this.ends.push(start + Math.max(size, 1));
      this.names.push(m[3] ?? '');
      this.sorted = false;
    }
  }

  private sort(): void {
    const order = new Uint32Array(this.names.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => (this.starts[a] ?? 0) - (this.starts[b] ?? 0) || a - b);
    this.order = order;
    this.sorted = true;
  }
}
