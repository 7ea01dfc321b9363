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
const ESCAPED = { [TAB]: Buffer.from('\\t'), [NEWLINE]: Buffer.from('\\n'), [BACKSLASH]: Buffer.from('\\\\') } as Record<number, Buffer>;

/**
 * Binary data as one TSV field, pushed onto `out`: only tab, newline and backslash need escaping
 * (about 1% of the bytes of gzip data), found with native `indexOf` and copied around in slices.
 */
export function pushTsvBytes(out: Buffer[], data: Buffer): void {
  let start = 0;
  const next = [data.indexOf(TAB), data.indexOf(NEWLINE), data.indexOf(BACKSLASH)];
  for (;;) {
    let at = -1;
    let which = -1;
    for (let i = 0; i < 3; i++) {
      if (next[i]! >= 0 && (at < 0 || next[i]! < at)) {
        at = next[i]!;
        which = i;
      }
    }
    if (at < 0) break;
    if (at > start) out.push(data.subarray(start, at));
    const byte = data[at]!;
    out.push(ESCAPED[byte]!);
    start = at + 1;
    next[which] = data.indexOf(byte, start);
  }
  if (start < data.length) out.push(data.subarray(start));
}
