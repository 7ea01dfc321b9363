// What every msgpack batch the agent sends has in common (spans, kernel signals): the body is a map
// of record arrays, and each record is checked on its own, so one bad record costs only itself.
import { unpack } from 'msgpackr';
import { IngestError } from './limits.js';

export interface DecodedRecords<R> {
  rows: R[];
  rejected: number;
  /** Why the first rejected record was rejected. */
  rejectReason: string;
}

/** The arrays `fields` of a msgpack map; a body that is not one is a 400 naming what was expected. */
export function unpackBatch<F extends string>(body: Buffer, fields: readonly F[], what: string): Record<F, unknown[]> {
  let batch: unknown;
  try {
    batch = unpack(body);
  } catch (err) {
    throw new IngestError(400, `the body is not msgpack: ${(err as Error).message}`, 'bad_msgpack');
  }
  const map = batch !== null && typeof batch === 'object' && !Array.isArray(batch) ? (batch as Record<string, unknown>) : {};
  const missing = fields.filter((f) => !Array.isArray(map[f]));
  if (missing.length > 0) {
    const quoted = (fs: readonly string[]) => fs.map((f) => `\`${f}\``).join(', ');
    const expected = fields.length === 1 ? `a ${quoted(fields)} array` : `the arrays ${quoted(fields)} (not arrays: ${quoted(missing)})`;
    throw new IngestError(400, `the body is not ${what}: expected a map with ${expected}`, 'bad_batch');
  }
  return map as Record<F, unknown[]>;
}

/** Adds each record's row to `out`, or counts it as rejected (`label i: reason` for the first). */
export function collectRows<R>(
  out: DecodedRecords<R>,
  records: readonly unknown[],
  label: string,
  rowOf: (v: unknown) => R | string,
): void {
  records.forEach((record, i) => {
    const row = rowOf(record);
    if (typeof row !== 'string') out.rows.push(row);
    else if (out.rejected++ === 0) out.rejectReason = `${label} ${i}: ${row}`;
  });
}

// The kernel cannot stamp a time outside these (and the samples table refuses them too).
const MIN_UNIX_NS = BigInt(Date.UTC(2000, 0, 1)) * 1_000_000n;
const MAX_UNIX_NS = BigInt(Date.UTC(2105, 11, 31)) * 1_000_000n;

/** A decimal unix-nanosecond string as a ClickHouse DateTime64(9) (`seconds.nanoseconds`), or why not. */
export function unixNanoTime(v: unknown, field: string): { time: string; ns: bigint } | string {
  if (typeof v !== 'string' || !/^[0-9]{1,20}$/.test(v)) return `${field} is not a decimal string`;
  const ns = BigInt(v);
  if (ns < MIN_UNIX_NS || ns > MAX_UNIX_NS) return `${field} is outside 2000-01-01 .. 2105-12-31`;
  return { time: dateTime64(ns), ns };
}

/** Unix milliseconds (a fraction allowed) as a ClickHouse DateTime64(9), or why not. */
export function unixMsTime(v: unknown, field: string): { time: string } | string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${field} is not a number`;
  const wholeMs = Math.floor(v);
  const ns = BigInt(wholeMs) * 1_000_000n + BigInt(Math.round((v - wholeMs) * 1e6));
  if (ns < MIN_UNIX_NS || ns > MAX_UNIX_NS) return `${field} is outside 2000-01-01 .. 2105-12-31`;
  return { time: dateTime64(ns) };
}

function dateTime64(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

/**
 * Whether v is an integer in [min, max]. msgpack carries integers past 2^53 as bigint: no count or
 * duration a node sends is that large, so those are refused with the rest.
 */
export function isInteger(v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** Lowercase hex of exactly `digits` digits, not all zero (W3C trace context's invalid id). */
export function hexId(v: unknown, digits: number): string | undefined {
  if (typeof v !== 'string' || v.length !== digits || !/^[0-9a-fA-F]+$/.test(v) || /^0+$/.test(v)) return undefined;
  return v.toLowerCase();
}

/** A map of strings (msgpackr decodes maps to plain objects), or undefined. */
export function stringRecord(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Map) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return undefined;
    out[k] = x;
  }
  return out;
}
