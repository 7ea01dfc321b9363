// Process-wide caches of what is in storage: function ids, stack frames, series already written.
// Ingest uses them to write each function, stack and series row once (per day or hour), queries
// to resolve stack hashes into frames without reading the stacks table again. All are bounded
// (oldest entries evicted first); a miss only costs a lookup in storage.
import { createHash } from 'node:crypto';

export interface FunctionInfo {
  name: string;
  systemName: string;
  /** Source file, '' when unknown. */
  filename: string;
  /** Line the function starts at, 0 when unknown. */
  startLine: number;
  /** Base name of the binary (pprof mapping) the function was seen in, '' when unknown. */
  binary: string;
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

/** What a function id hashes; functions without line or binary keep the ids they had before migration 3. */
export function functionKey(f: FunctionInfo): string {
  const key = `${f.name}\0${f.systemName}\0${f.filename}`;
  return f.startLine === 0 && f.binary === '' ? key : `${key}\0${f.startLine}\0${f.binary}`;
}

/** A function id as the decimal ClickHouse gets and the two 32-bit halves stack hashing mixes. */
export interface FunctionId {
  id: string;
  hi: number;
  lo: number;
  info: FunctionInfo;
  /** The day (unix days) it was last written to storage; -1: not known to be there. */
  written: number;
}

/** A stack hash known to the catalog. */
export interface StackId {
  hi: number;
  lo: number;
  /** The hash as an unsigned decimal. */
  id: string;
  /** The day (unix days) it was last written to storage; -1: not known to be there. */
  written: number;
  /** Another stack whose hash shares the low 30 bits (see `Catalog.stackId`). */
  next: StackId | undefined;
}

/** Scratch of `stackHashOf`: the halves of each id, and the identity order. */
let hashLo = new Int32Array(256);
let hashHi = new Int32Array(256);
let hashOrder = Int32Array.from({ length: 256 }, (_, i) => i);

/**
 * A 64-bit hash of a sequence of function ids (root first), as two independently seeded
 * 32-bit multiply-xorshift lanes over both halves of each id: no strings.
 */
export function stackHashOf(ids: readonly FunctionId[], reverse = false): { hi: number; lo: number } {
  const n = ids.length;
  if (n > hashLo.length) {
    hashLo = new Int32Array(2 * n);
    hashHi = new Int32Array(2 * n);
    hashOrder = Int32Array.from({ length: 2 * n }, (_, i) => i);
  }
  for (let k = 0; k < n; k++) {
    const f = ids[reverse ? n - 1 - k : k]!;
    hashLo[k] = f.lo;
    hashHi[k] = f.hi;
  }
  return stackHashOfSlots(hashOrder, n, hashLo, hashHi);
}

/**
 * The stack hash of `n` frames given root first as indices into `lo` and `hi`, the halves of
 * their function ids (typed arrays: no object per frame to load).
 */
function stackHashOfSlots(frames: Int32Array, n: number, lo: Int32Array, hi: Int32Array): { hi: number; lo: number } {
  let a = 0x9e3779b9 ^ n;
  let b = 0x85ebca6b ^ Math.imul(n, 0xc2b2ae35);
  for (let k = 0; k < n; k++) {
    const f = frames[k]!;
    const fLo = lo[f]!;
    const fHi = hi[f]!;
    a = Math.imul(a ^ fLo, 0xcc9e2d51);
    a = Math.imul((a << 15) | (a >>> 17), 0x1b873593) ^ fHi;
    b = Math.imul(b ^ fHi, 0x85ebca6b);
    b = Math.imul((b << 13) | (b >>> 19), 0xc2b2ae35) ^ fLo;
  }
  return stackHashEnd(a, b);
}

function stackHashEnd(a: number, b: number): { hi: number; lo: number } {
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

/** Where a flame graph frame comes from, as the API's `metadata.frames` tells the UI. */
export interface FrameInfo {
  file: string;
  line: number;
  binary: string;
}

function sameFunction(f: FunctionInfo, systemName: string, filename: string, startLine: number, binary: string): boolean {
  return f.systemName === systemName && f.filename === filename && f.startLine === startLine && f.binary === binary;
}

export class Catalog {
  /** function name → the function(s) of that name (usually one) */
  readonly #functionsByName = new BoundedMap<string, FunctionId | FunctionId[]>(1_000_000);
  /** How many times functions were evicted (caches of them must forget them then). */
  functionEvictions = 0;
  /** function id → what it is */
  readonly functions = new BoundedMap<string, FunctionInfo>(1_000_000);
  /** 30 bits of a stack hash (a small integer: cheap as a Map key) → the stack(s) */
  readonly #stackIds = new BoundedMap<number, StackId>(1_000_000);
  /** stack hash → function ids, root first */
  readonly stacks = new BoundedMap<string, readonly string[]>(500_000);
  /** `profileType|fp|hour` keys already written to the series table */
  readonly seriesWritten = new BoundedMap<string, true>(1_000_000);
  /** profile type → unit, as ingested */
  readonly units = new Map<string, string>();
  /**
   * Frame names interned for queries (index → name), and each stack as indices into it, root
   * first. Replaced as a whole (never shrunk in place) past `maxNames`, so a query holding the
   * old table still reads consistent indices.
   */
  names: string[] = [];
  #nameIndex = new Map<string, number>();
  stackNames = new BoundedMap<string, Int32Array>(500_000);
  readonly maxNames = 2_000_000;

  functionId(f: FunctionInfo): FunctionId {
    return this.functionIdOf(f.name, f.systemName, f.filename, f.startLine, f.binary);
  }

  /** The id of a function; looked up by name first, so no key string is built for known functions. */
  functionIdOf(name: string, systemName: string, filename: string, startLine: number, binary: string): FunctionId {
    const e = this.#functionsByName.get(name);
    if (e !== undefined) {
      if (!Array.isArray(e)) {
        if (sameFunction(e.info, systemName, filename, startLine, binary)) return e;
      } else {
        for (const x of e) if (sameFunction(x.info, systemName, filename, startLine, binary)) return x;
      }
    }
    const info: FunctionInfo = { name, systemName, filename, startLine, binary };
    const d = createHash('md5').update(functionKey(info)).digest();
    const lo = d.readUInt32LE(0);
    const hi = d.readUInt32LE(4);
    const id: FunctionId = { id: uint64Decimal(hi, lo), hi, lo, info, written: -1 };
    this.functions.set(id.id, info);
    const size = this.#functionsByName.size;
    this.#functionsByName.set(name, e === undefined ? id : Array.isArray(e) ? [...e, id] : [e, id]);
    if (this.#functionsByName.size < size) this.functionEvictions++;
    return id;
  }

  /** `stackId` of `stackHashOfSlots(frames, n, lo, hi)` (one call: no object for the hash). */
  stackIdOfSlots(frames: Int32Array, n: number, lo: Int32Array, hi: Int32Array): StackId {
    const h = stackHashOfSlots(frames, n, lo, hi);
    return this.stackId(h.hi, h.lo);
  }

  /** The catalog's entry of a stack hash, created on first sight. */
  stackId(hi: number, lo: number): StackId {
    const key = lo & 0x3fffffff;
    const first = this.#stackIds.get(key);
    for (let e = first; e !== undefined; e = e.next) if (e.lo === lo && e.hi === hi) return e;
    const e: StackId = { hi, lo, id: uint64Decimal(hi, lo), written: -1, next: first };
    this.#stackIds.set(key, e);
    return e;
  }

  /**
   * Where each interned name comes from (same indices as `names`): source file, start line and
   * binary of the functions of that name; a field the functions disagree on is left empty.
   */
  nameFrames: FrameInfo[] = [];

  /** The index of a frame name in `names`, noting where the function comes from. */
  internName(name: string, f?: FunctionInfo): number {
    let i = this.#nameIndex.get(name);
    if (i === undefined) {
      if (this.names.length >= this.maxNames) this.resetNames();
      i = this.names.length;
      this.names.push(name);
      this.nameFrames.push(f === undefined ? { file: '', line: 0, binary: '' } : { file: f.filename, line: f.startLine, binary: f.binary });
      this.#nameIndex.set(name, i);
    } else if (f !== undefined) {
      const known = this.nameFrames[i]!;
      if (known.file !== f.filename) known.file = '';
      if (known.line !== f.startLine) known.line = 0;
      if (known.binary !== f.binary) known.binary = '';
    }
    return i;
  }

  resetNames(): void {
    this.names = [];
    this.nameFrames = [];
    this.#nameIndex = new Map();
    this.stackNames = new BoundedMap<string, Int32Array>(this.stackNames.max);
  }
}
