// Small readers over captured payload bytes shared by the protocol parsers.

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Index of `\r\n` at or after `from`, -1 when the captured bytes end first. */
export function indexOfCrlf(buf: Uint8Array, from = 0): number {
  // The builtin scan, not a loop of our own: the agent's JavaScript runs unoptimized (bin/kiln.js).
  for (let i = buf.indexOf(13, Math.max(0, from)); i >= 0 && i + 1 < buf.length; i = buf.indexOf(13, i + 1))
    if (buf[i + 1] === 10) return i;
  return -1;
}

export function ascii(buf: Uint8Array, start = 0, end = buf.length): string {
  return latin1.decode(buf.subarray(start, end));
}

/** Text the application wrote (SQL, error messages): UTF-8, a cut multi-byte character replaced. */
export function text(buf: Uint8Array, start = 0, end = buf.length): string {
  return utf8.decode(buf.subarray(start, end));
}

/** A NUL-terminated string at `start`; `end` is past its NUL, or past the capture when cut. */
export function cString(buf: Uint8Array, start: number): { value: string; end: number } {
  let i = start;
  while (i < buf.length && buf[i] !== 0) i++;
  return { value: text(buf, start, i), end: i + 1 };
}

export function int32BE(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

export function uint16LE(buf: Uint8Array, at: number): number {
  return buf[at]! | (buf[at + 1]! << 8);
}

export function uint32LE(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}
