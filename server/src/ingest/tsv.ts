// TabSeparated text for inserts: bytes go to ClickHouse as they are (no base64, no JSON), which
// is the cheapest text format for it to parse and for us to write.
import { native } from '../native.js';

/** A top-level TSV field: backslash, tab, newline, CR and NUL escaped. */
export function tsvEscape(s: string): string {
  return /[\\\t\n\r\0]/.test(s)
    ? s.replace(/[\\\t\n\r\0]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\0'))
    : s;
}

/** A string inside an Array or Map field: ClickHouse reads those as quoted literals ('…', backslash escapes). */
export function tsvQuoted(s: string): string {
  return /[\\'\t\n\r\0]/.test(s)
    ? `'${s.replace(/[\\'\t\n\r\0]/g, (c) => (c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\0'))}'`
    : `'${s}'`;
}

export function tsvStringArray(values: readonly string[]): string {
  return `[${values.map(tsvQuoted).join(',')}]`;
}

export function tsvStringMap(entries: Iterable<readonly [string, string]>): string {
  const parts: string[] = [];
  for (const [k, v] of entries) parts.push(`${tsvQuoted(k)}:${tsvQuoted(v)}`);
  return `{${parts.join(',')}}`;
}

const TAB = 9;
const NEWLINE = 10;

/**
 * Buffers of finished inserts, handed to the next ones: an insert's megabytes are not allocated
 * anew each time (V8 counts every new buffer toward a garbage collection it forces early).
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  constructor(
    /** Buffers kept at most... */
    readonly keep = 4,
    /** ...each at most this large. */
    readonly maxBytes = 64 << 20,
  ) {}

  /** A buffer of at least `size` bytes (its contents are garbage). */
  take(size: number): Buffer {
    const i = this.#free.findIndex((b) => b.length >= size);
    return i >= 0 ? this.#free.splice(i, 1)[0]! : Buffer.allocUnsafe(Math.max(64, size));
  }

  /** Gives back a buffer nothing uses any more. */
  give(b: Buffer): void {
    if (b.length > this.maxBytes) return;
    if (this.#free.length >= this.keep) this.#free.sort((x, y) => y.length - x.length).pop();
    this.#free.push(b);
  }
}

/** TSV written straight into one growing buffer (taken from `pool` and given back by `release`). */
export class TsvWriter {
  #buf: Buffer;
  #at = 0;

  constructor(
    sizeHint = 1 << 16,
    readonly pool?: BufferPool,
  ) {
    this.#buf = pool === undefined ? Buffer.allocUnsafe(Math.max(64, sizeHint)) : pool.take(sizeHint);
  }

  /** What was written (a view of the buffer, valid until the next write or `release`). */
  result(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }

  /** Done with it: the buffer goes back to the pool. */
  release(): void {
    this.pool?.give(this.#buf);
    this.#buf = Buffer.alloc(0);
    this.#at = 0;
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, this.#at + n));
    this.#buf.copy(bigger, 0, 0, this.#at);
    this.#buf = bigger;
  }

  bytes(b: Buffer): void {
    this.#room(b.length);
    const buf = this.#buf;
    let at = this.#at;
    if (b.length > 32) at += b.copy(buf, at);
    else for (let i = 0; i < b.length; i++) buf[at++] = b[i]!;
    this.#at = at;
  }

  /** Any string, as UTF-8 (escaped already where it needs to be). */
  text(s: string): void {
    this.#room(3 * s.length);
    this.#at += this.#buf.write(s, this.#at, 'utf8');
  }

  /**
   * Binary data as one field: tab, newline, carriage return and backslash escaped (about 1.6% of
   * the bytes of gzip data; ClickHouse refuses a raw CR that ends a row). Native: the uploads as
   * received are most of the bytes inserted, and a byte loop in JavaScript cost ~0.25 ms per upload.
   */
  escapedBytes(data: Buffer): void {
    this.#room(2 * data.length);
    this.#at = native().tsvEscapeInto(data, this.#buf, this.#at);
  }

  /** A string known to be ASCII (digits, for one). */
  ascii(s: string): void {
    this.#room(s.length);
    const buf = this.#buf;
    let at = this.#at;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.#at = at;
  }

  tab(): void {
    this.#room(1);
    this.#buf[this.#at++] = TAB;
  }

  newline(): void {
    this.#room(1);
    this.#buf[this.#at++] = NEWLINE;
  }

  /** An integer as JavaScript prints it (exponent notation at 1e21 and above, as String() has it). */
  integer(v: number): void {
    if (!(Math.abs(v) < 2 ** 53)) return this.ascii(String(v));
    this.#room(17);
    const buf = this.#buf;
    if (v < 0) {
      buf[this.#at++] = 45; // '-'
      v = -v;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    let at = this.#at + digits;
    this.#at = at;
    do {
      const q = Math.floor(v / 10);
      buf[--at] = 48 + (v - 10 * q);
      v = q;
    } while (v > 0);
  }
}
