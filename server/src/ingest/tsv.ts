// TabSeparated text for inserts: bytes go to ClickHouse as they are (no base64, no JSON), which
// is the cheapest text format for it to parse and for us to write.

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
const BACKSLASH = 92;

/** TSV written straight into one growing buffer. */
export class TsvWriter {
  #buf: Buffer;
  #at = 0;

  constructor(sizeHint = 1 << 16) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, sizeHint));
  }

  get length(): number {
    return this.#at;
  }

  /** What was written (a view of the buffer, valid until the next write). */
  result(): Buffer {
    return this.#buf.subarray(0, this.#at);
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
   * Binary data as one field: only tab, newline and backslash need escaping (about 1% of the
   * bytes of gzip data), found with native `indexOf` and the runs between them copied.
   */
  escapedBytes(data: Buffer): void {
    this.#room(2 * data.length);
    const buf = this.#buf;
    let at = this.#at;
    let start = 0;
    let tab = data.indexOf(TAB);
    let newline = data.indexOf(NEWLINE);
    let backslash = data.indexOf(BACKSLASH);
    for (;;) {
      let next = tab;
      if (next < 0 || (newline >= 0 && newline < next)) next = newline;
      if (next < 0 || (backslash >= 0 && backslash < next)) next = backslash;
      if (next < 0) break;
      at += data.copy(buf, at, start, next);
      const c = data[next]!;
      buf[at++] = BACKSLASH;
      buf[at++] = c === TAB ? 116 : c === NEWLINE ? 110 : BACKSLASH; // t, n, backslash
      start = next + 1;
      if (c === TAB) tab = data.indexOf(TAB, start);
      else if (c === NEWLINE) newline = data.indexOf(NEWLINE, start);
      else backslash = data.indexOf(BACKSLASH, start);
    }
    this.#at = at + data.copy(buf, at, start);
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
