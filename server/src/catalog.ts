// Process-wide caches of what is in storage: function ids, stack frames, series already written.
// Ingest uses them to write each function, stack and series row once (per day or hour), queries
// to resolve stack hashes into frames without reading the stacks table again. All are bounded
// (oldest entries evicted first); a miss only costs a lookup in storage.
import { createHash } from 'node:crypto';

export interface FunctionInfo {
  name: string;
  systemName: string;
  filename: string;
}

/** A bounded Map: inserting past `max` entries drops the oldest tenth. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      let drop = Math.max(1, Math.floor(this.max / 10));
      for (const k of this.keys()) {
        if (drop-- <= 0) break;
        this.delete(k);
      }
    }
    return super.set(key, value);
  }
}

/** The first 8 bytes of the MD5 of `text` as an unsigned decimal (how UInt64 ids travel to ClickHouse). */
export function hash64(text: string): string {
  return createHash('md5').update(text).digest().readBigUInt64LE(0).toString();
}

export function functionKey(f: FunctionInfo): string {
  return `${f.name}\0${f.systemName}\0${f.filename}`;
}

/** A function id as the decimal ClickHouse gets and the two 32-bit halves stack hashing mixes. */
export interface FunctionId {
  id: string;
  hi: number;
  lo: number;
}

/**
 * A 64-bit hash of a sequence of function ids (root first), as two independently seeded
 * 32-bit multiply-xorshift lanes over both halves of each id: no strings, no allocation.
 */
export function stackHashOf(ids: readonly FunctionId[], reverse = false): { hi: number; lo: number } {
  let a = 0x9e3779b9 ^ ids.length;
  let b = 0x85ebca6b ^ Math.imul(ids.length, 0xc2b2ae35);
  const n = ids.length;
  for (let k = 0; k < n; k++) {
    const f = ids[reverse ? n - 1 - k : k]!;
    a = Math.imul(a ^ f.lo, 0xcc9e2d51);
    a = Math.imul((a << 15) | (a >>> 17), 0x1b873593) ^ f.hi;
    b = Math.imul(b ^ f.hi, 0x85ebca6b);
    b = Math.imul((b << 13) | (b >>> 19), 0xc2b2ae35) ^ f.lo;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 15;
  b = Math.imul(b, 0x2c1b3c6d);
  b ^= b >>> 12;
  return { hi: a >>> 0, lo: (b ^ a) >>> 0 };
}

export function uint64Decimal(hi: number, lo: number): string {
  return hi === 0 ? String(lo) : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

export class Catalog {
  /** function key → id */
  readonly functionIds = new BoundedMap<string, FunctionId>(1_000_000);
  /** function id → what it is */
  readonly functions = new BoundedMap<string, FunctionInfo>(1_000_000);
  /** `hi:lo` of a stack hash → its decimal */
  readonly stackIds = new BoundedMap<string, string>(1_000_000);
  /** stack hash → function ids, root first */
  readonly stacks = new BoundedMap<string, readonly string[]>(500_000);
  /** function id / stack hash → the day (unix days) it was last written */
  readonly functionWritten = new BoundedMap<string, number>(1_000_000);
  readonly stackWritten = new BoundedMap<string, number>(1_000_000);
  /** `profileType|fp|hour` keys already written to the series table */
  readonly seriesWritten = new BoundedMap<string, true>(1_000_000);
  /** profile type → unit, as ingested */
  readonly units = new Map<string, string>();

  functionId(f: FunctionInfo): FunctionId {
    const key = functionKey(f);
    let id = this.functionIds.get(key);
    if (id === undefined) {
      const d = createHash('md5').update(key).digest();
      const lo = d.readUInt32LE(0);
      const hi = d.readUInt32LE(4);
      id = { id: uint64Decimal(hi, lo), hi, lo };
      this.functionIds.set(key, id);
      this.functions.set(id.id, f);
    }
    return id;
  }
}
