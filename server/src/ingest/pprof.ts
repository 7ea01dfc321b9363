// pprof uploads → rows. Every index is checked: a profile pointing outside its own tables is a 400.
import { basename } from 'node:path';
import type { Catalog, FunctionId } from '../catalog.js';
import { SPAN_LABELS, sanitizeLabelName } from './labels.js';
import { IngestError } from './limits.js';
import { bytesHash, checkCurrent, decodeRawPprof, locationAddress, SampleReader, stringOf, type RawProfile } from '@kiln/api/pprof';
import type { SampleType, UploadBuilder } from './rows.js';

type Numeric = number | bigint;
const num = (v: Numeric | undefined): number => (v === undefined ? 0 : Number(v));

export function decodePprof(bytes: Buffer): RawProfile {
  return decodeRawPprof(bytes);
}

/** Sample types of a profile, validated. */
export function sampleTypes(p: RawProfile): SampleType[] {
  checkCurrent(p);
  const str = (i: Numeric | undefined): string => stringAt(p, i, 'sample type');
  if (p.sampleType.length === 0) throw new IngestError(400, 'the pprof profile has no sample types', 'bad_pprof');
  const types = p.sampleType.map((t) => ({ name: str(t.type) || 'samples', unit: str(t.unit) || 'count' }));
  const seen = new Set<string>();
  for (const t of types) {
    if (seen.has(t.name)) throw new IngestError(400, `sample type ${JSON.stringify(t.name)} appears twice`, 'bad_pprof');
    seen.add(t.name);
  }
  return types;
}

function checkString(p: RawProfile, i: Numeric | undefined, what: string): number {
  const n = num(i);
  if (n < 0 || n >= p.stringCount || !Number.isInteger(n)) {
    throw new IngestError(400, `pprof ${what} refers to string ${n}, outside the string table (${p.stringCount} strings)`, 'bad_pprof');
  }
  return n;
}

function stringAt(p: RawProfile, i: Numeric | undefined, what: string): string {
  return stringOf(p, checkString(p, i, what));
}

/** pprof message ids → their index in the profile's arrays (the last one wins, as in a map). */
class IdIndex {
  /** id → index when the ids are small integers (-1: none), else undefined. */
  readonly dense: Int32Array | undefined;
  readonly #map: Map<number, number> | undefined;
  constructor(ids: Float64Array, n: number) {
    let max = 0;
    let dense = true;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0) dense = false;
      else if (id > max) max = id;
    }
    if (dense && max <= 4 * n + 64) {
      this.dense = new Int32Array(max + 1).fill(-1);
      for (let i = 0; i < n; i++) this.dense[ids[i]!] = i;
    } else {
      this.#map = new Map();
      for (let i = 0; i < n; i++) this.#map.set(ids[i]!, i);
    }
  }
  /** The index of `id`, or -1. */
  get(id: number): number {
    if (this.dense !== undefined) return id >= 0 && id < this.dense.length ? this.dense[id]! : -1;
    return this.#map!.get(id) ?? -1;
  }
}

/**
 * A catalog's functions by the bytes of their name, system name and file name (with their start
 * line and binary), so that an upload finds the functions it shares with earlier ones without
 * decoding those strings or looking them up in the catalog's maps. Verified byte for byte on a hit.
 * Two slots per hash (the older entry is replaced); starts small and grows with what it holds;
 * emptied when its byte pool is full or the catalog evicts functions.
 */
class FunctionCache {
  static readonly MAX_SLOTS = 1 << 17;
  static readonly MAX_POOL = 16 << 20;
  /** Slot i at meta[6i ..]: hash, offset in `pool`, byte lengths of name, system name (-1: the name's) and file name, start line. */
  meta = new Int32Array(0);
  ids: (FunctionId | undefined)[] = [];
  binaries: string[] = [];
  pool = Buffer.alloc(0);
  poolView = new DataView(this.pool.buffer);
  used = 0;
  /** Functions added since the slots were last resized. */
  added = 0;
  constructor(public evictions: number) {
    this.#resize(1 << 12, 1 << 18);
  }

  /** Empties the cache, with new sizes. */
  #resize(slots: number, poolBytes: number): void {
    this.meta = new Int32Array(6 * slots);
    this.ids = new Array<FunctionId | undefined>(slots).fill(undefined);
    this.binaries = new Array<string>(slots).fill('');
    if (poolBytes !== this.pool.length) {
      this.pool = Buffer.allocUnsafe(poolBytes);
      this.poolView = new DataView(this.pool.buffer, this.pool.byteOffset, this.pool.length);
    }
    this.used = 0;
    this.added = 0;
  }

  clear(evictions: number): void {
    this.ids.fill(undefined);
    this.used = 0;
    this.evictions = evictions;
  }

  /** The function of a hit, else undefined. */
  get(
    hash: number,
    p: RawProfile,
    name: number,
    systemName: number,
    filename: number,
    startLine: number,
    binary: string,
  ): FunctionId | undefined {
    const slot = hash & (this.ids.length - 2);
    if (this.#matches(slot, hash, p, name, systemName, filename, startLine, binary)) return this.ids[slot];
    if (this.#matches(slot + 1, hash, p, name, systemName, filename, startLine, binary)) return this.ids[slot + 1];
    return undefined;
  }

  #matches(
    slot: number,
    hash: number,
    p: RawProfile,
    name: number,
    systemName: number,
    filename: number,
    startLine: number,
    binary: string,
  ): boolean {
    const m = 6 * slot;
    const meta = this.meta;
    if (meta[m] !== hash || meta[m + 5] !== (startLine | 0) || this.ids[slot] === undefined || this.binaries[slot] !== binary) return false;
    const nameAt = meta[m + 1]!;
    const nameLen = meta[m + 2]!;
    const sysLen = meta[m + 3]!;
    if (!this.#same(p, name, nameAt, nameLen)) return false;
    let at = nameAt + nameLen;
    if (sysLen < 0) {
      if (systemName !== name && !this.#same(p, systemName, nameAt, nameLen)) return false;
    } else {
      if (!this.#same(p, systemName, at, sysLen)) return false;
      at += sysLen;
    }
    return this.#same(p, filename, at, meta[m + 4]!);
  }

  set(
    hash: number,
    p: RawProfile,
    name: number,
    systemName: number,
    filename: number,
    startLine: number,
    binary: string,
    f: FunctionId,
  ): void {
    const nameLen = p.strEnd[name]! - p.strStart[name]!;
    const sysSame =
      systemName === name ||
      sameBytes(p.buf, p.view, p.strStart[systemName]!, p.strEnd[systemName]!, p.buf, p.view, p.strStart[name]!, nameLen);
    const sysLen = sysSame ? 0 : p.strEnd[systemName]! - p.strStart[systemName]!;
    const fileLen = p.strEnd[filename]! - p.strStart[filename]!;
    const size = nameLen + sysLen + fileLen;
    if (size > 4096) return;
    if (this.ids.length < FunctionCache.MAX_SLOTS && ++this.added > this.ids.length / 2)
      this.#resize(2 * this.ids.length, this.pool.length);
    if (this.used + size > this.pool.length) {
      if (this.pool.length < FunctionCache.MAX_POOL) this.#resize(this.ids.length, 2 * this.pool.length);
      else this.clear(this.evictions);
    }
    let slot = hash & (this.ids.length - 2);
    if (this.ids[slot] !== undefined) {
      if (this.ids[slot + 1] === undefined) slot++;
      else {
        // Both taken: the older (second) one goes, the first one takes its place.
        this.meta.copyWithin(6 * slot + 6, 6 * slot, 6 * slot + 6);
        this.ids[slot + 1] = this.ids[slot];
        this.binaries[slot + 1] = this.binaries[slot]!;
      }
    }
    const m = 6 * slot;
    this.meta[m] = hash;
    this.meta[m + 1] = this.used;
    this.meta[m + 2] = nameLen;
    this.meta[m + 3] = sysSame ? -1 : sysLen;
    this.meta[m + 4] = fileLen;
    this.meta[m + 5] = startLine | 0;
    this.used += p.buf.copy(this.pool, this.used, p.strStart[name], p.strEnd[name]);
    if (!sysSame) this.used += p.buf.copy(this.pool, this.used, p.strStart[systemName], p.strEnd[systemName]);
    this.used += p.buf.copy(this.pool, this.used, p.strStart[filename], p.strEnd[filename]);
    this.ids[slot] = f;
    this.binaries[slot] = binary;
  }

  /** Whether string `i` of `p` is the `len` bytes of the pool at `at`. */
  #same(p: RawProfile, i: number, at: number, len: number): boolean {
    return sameBytes(p.buf, p.view, p.strStart[i]!, p.strEnd[i]!, this.pool, this.poolView, at, len);
  }
}

/** Whether bytes start .. end of `a` are the `len` bytes of `b` at `at` (4 at a time through the views). */
function sameBytes(a: Buffer, aView: DataView, start: number, end: number, b: Buffer, bView: DataView, at: number, len: number): boolean {
  if (end - start !== len) return false;
  const d = at - start;
  let k = start;
  while (k + 4 <= end && bView.getInt32(k + d, true) === aView.getInt32(k, true)) k += 4;
  if (k + 4 <= end) return false;
  while (k < end && b[k + d] === a[k]) k++;
  return k === end;
}
const functionCaches = new WeakMap<Catalog, FunctionCache>();

interface SeriesOfLabels {
  keys: number[];
  strs: number[];
  series: ReturnType<UploadBuilder['series']>;
  spanId: string;
  traceId: string;
  next: SeriesOfLabels | undefined;
}

// Scratch of addPprof, reused from upload to upload (dropped past KEPT entries).
const KEPT = 1 << 17;
const newScratch = () => ({
  /** Function ids of each location's lines, innermost first (the pprof order), flattened... */
  frames: [] as FunctionId[],
  /** ...and the two halves of each, for stack hashing. */
  frameLo: new Int32Array(1024),
  frameHi: new Int32Array(1024),
  /** Location i's frames are frames[locStart[i] .. locStart[i + 1]). */
  locStart: new Int32Array(1024),
  seen: newSeen(1024),
  /** One sample's location indices, leaf first. */
  sampleLocs: new Int32Array(256),
  /** One sample's frames (indices into `frames`), root first. */
  stack: new Int32Array(256),
});
let scratch = newScratch();

function newSeen(slots: number) {
  return { hashes: new Int32Array(slots), at: new Int32Array(2 * slots), stacks: new Array<string | undefined>(slots) };
}

function growI32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (n < a.length) return a;
  const b = new Int32Array(Math.max(2 * a.length, n + 1));
  b.set(a);
  return b;
}

/**
 * Adds the samples of a decoded pprof to `b`. Sample string labels become series labels over
 * `baseLabels` (so one agent upload holds a series per process); `span_id`/`trace_id` go to their columns.
 */
export function addPprof(p: RawProfile, b: UploadBuilder, baseLabels: ReadonlyMap<string, string>): void {
  checkCurrent(p);
  const str = (i: Numeric | undefined, what: string): string => stringAt(p, i, what);

  const nFn = p.functionCount;
  const nStr = p.stringCount;
  for (let i = 0; i < nFn; i++) {
    // Decoded varints: integers >= 0, only the upper bound to check (checkString words the error).
    if (p.fnName[i]! >= nStr) checkString(p, p.fnName[i], 'function name');
    if (p.fnSystemName[i]! >= nStr) checkString(p, p.fnSystemName[i], 'function system name');
    if (p.fnFilename[i]! >= nStr) checkString(p, p.fnFilename[i], 'function file name');
  }
  const fnIndex = new IdIndex(p.fnId, nFn);
  const fnIds = new Array<FunctionId | undefined>(nFn);
  // `binary`: the file's base name, once per mapping rather than once per function.
  const mappings = new Map<number, { binary: string; start: bigint; offset: bigint }>();
  for (const m of p.mapping) {
    mappings.set(num(m.id), { binary: basename(str(m.filename, 'mapping file name')), start: m.memoryStart, offset: m.fileOffset });
  }
  const catalog = b.catalog;
  let cache = functionCaches.get(catalog);
  if (cache === undefined) functionCaches.set(catalog, (cache = new FunctionCache(catalog.functionEvictions)));
  const nLoc = p.locationCount;
  if (scratch.frames.length > KEPT || scratch.locStart.length > KEPT || scratch.stack.length > KEPT || scratch.seen.hashes.length > KEPT)
    scratch = newScratch();
  const s = scratch;
  s.locStart = growI32(s.locStart, nLoc);
  const locStart = s.locStart;
  const frames = s.frames;
  let nFrames = 0;
  const addFrame = (id: FunctionId): void => {
    if (nFrames === s.frameLo.length) {
      s.frameLo = growI32(s.frameLo, nFrames);
      s.frameHi = growI32(s.frameHi, nFrames);
    }
    frames[nFrames] = id;
    s.frameLo[nFrames] = id.lo;
    s.frameHi[nFrames++] = id.hi;
  };
  const hashes = p.strHash;
  let lastMapping = -1;
  let lastBinary = '';
  for (let l = 0; l < nLoc; l++) {
    locStart[l] = nFrames;
    for (let k = p.locLineStart[l]!; k < p.locLineStart[l + 1]!; k++) {
      const fid = p.lineFunction[k]!;
      const fi = fnIndex.get(fid);
      if (fi < 0) {
        if (fid === 0) continue;
        throw new IngestError(
          400,
          `pprof location ${p.locId[l]} refers to function ${fid}, which the profile does not define`,
          'bad_pprof',
        );
      }
      let id = fnIds[fi];
      if (id === undefined) {
        // A function's binary is the mapping of the first location that uses it.
        const mid = p.locMapping[l]!;
        if (mid !== lastMapping) {
          lastMapping = mid;
          lastBinary = mappings.get(mid)?.binary ?? '';
        }
        const startLine = p.fnStartLine[fi]! <= 0xffffffff ? p.fnStartLine[fi]! : 0;
        const name = p.fnName[fi]!;
        const systemName = p.fnSystemName[fi]!;
        const filename = p.fnFilename[fi]!;
        let h = Math.imul(hashes[name]!, 0x9e3779b1);
        h = Math.imul(h ^ hashes[systemName]!, 0x85ebca77);
        h = Math.imul(h ^ hashes[filename]!, 0xc2b2ae3d);
        h = Math.imul(h ^ startLine, 0x27d4eb2f);
        h ^= h >>> 15;
        if (cache.evictions !== catalog.functionEvictions) cache.clear(catalog.functionEvictions);
        id = cache.get(h, p, name, systemName, filename, startLine, lastBinary);
        if (id !== undefined) b.useFunction(id);
        else {
          id = b.fnOf(stringOf(p, name), stringOf(p, systemName), stringOf(p, filename), startLine, lastBinary);
          cache.set(h, p, name, systemName, filename, startLine, lastBinary, id);
        }
        fnIds[fi] = id;
      }
      addFrame(id);
    }
    if (nFrames === locStart[l]) {
      const mid = p.locMapping[l]!;
      const m = mappings.get(mid);
      if (mid !== 0 && m === undefined) {
        throw new IngestError(400, `pprof location ${p.locId[l]} refers to mapping ${mid}, which the profile does not define`, 'bad_pprof');
      }
      const addr = locationAddress(p, l);
      const name =
        m === undefined ? `[unknown] 0x${addr.toString(16)}` : `[unknown] ${m.binary || '?'}+0x${(addr - m.start + m.offset).toString(16)}`;
      addFrame(b.fnOf(name, '', ''));
    }
  }
  locStart[nLoc] = nFrames;
  const frameLo = s.frameLo;
  const frameHi = s.frameHi;
  const locIndex = new IdIndex(p.locId, nLoc);
  const locDense = locIndex.dense;
  const maxDepth = b.limits.maxStackDepth;

  const nTypes = p.sampleType.length;
  // Series by the sample's (key, value) label string indices, hashed.
  const seriesOf = new Map<number, SeriesOfLabels>();
  const baseSeries = b.series(baseLabels);
  const reader = new SampleReader(p);
  const nSamples = p.sampleCount;
  // Stacks of this upload by the bytes of their location ids: open addressing, at[2i] < 0: free.
  let seenMask = 1023;
  while (seenMask < 2 * nSamples) seenMask = 2 * seenMask + 1;
  if (s.seen.hashes.length <= seenMask) s.seen = newSeen(seenMask + 1);
  const seen = s.seen;
  seen.at.fill(-1, 0, 2 * (seenMask + 1));
  for (let si = 0; si < nSamples; si++) {
    b.countSample();
    reader.read(si);
    if (reader.valueCount !== nTypes) {
      throw new IngestError(400, `a pprof sample has ${reader.valueCount} values for ${nTypes} sample types`, 'bad_pprof');
    }
    // A stack this upload had already (another process, same stack) is found by its bytes.
    const idsStart = reader.locationsStart;
    const idsEnd = reader.locationsEnd;
    let seenSlot = -1;
    let hash: string | undefined;
    if (idsStart >= 0) {
      const h = bytesHash(p.buf, p.view, idsStart, idsEnd);
      for (seenSlot = h & seenMask; seen.at[2 * seenSlot]! >= 0; seenSlot = (seenSlot + 1) & seenMask) {
        const at = seen.at[2 * seenSlot]!;
        if (seen.hashes[seenSlot] === h && sameBytes(p.buf, p.view, idsStart, idsEnd, p.buf, p.view, at, seen.at[2 * seenSlot + 1]!)) {
          hash = seen.stacks[seenSlot];
          break;
        }
      }
      seen.hashes[seenSlot] = h;
    }
    if (hash === undefined) {
      const locationIds = reader.locationIds;
      const nIds = reader.locationCount;
      if (nIds > s.sampleLocs.length) s.sampleLocs = growI32(s.sampleLocs, nIds);
      if (nIds > s.stack.length) s.stack = growI32(s.stack, nIds);
      const sampleLocs = s.sampleLocs;
      let stack = s.stack;
      // The stack root first, directly while every location has one frame (the usual case).
      let depth = 0;
      let oneFrameEach = true;
      for (let j = 0; j < nIds; j++) {
        const id = locationIds[j]!;
        const li = locDense !== undefined ? (id < locDense.length ? locDense[id]! : -1) : locIndex.get(id);
        if (li < 0) throw new IngestError(400, `a pprof sample refers to location ${id}, which the profile does not define`, 'bad_pprof');
        sampleLocs[j] = li;
        const first = locStart[li]!;
        const n = locStart[li + 1]! - first;
        depth += n;
        if (n === 1) stack[nIds - 1 - j] = first;
        else oneFrameEach = false;
      }
      if (!oneFrameEach) {
        if (depth > stack.length) stack = s.stack = growI32(stack, depth);
        let n = 0;
        for (let j = nIds - 1; j >= 0; j--) {
          const li = sampleLocs[j]!;
          for (let k = locStart[li + 1]! - 1; k >= locStart[li]!; k--) stack[n++] = k;
        }
      }
      if (depth > maxDepth) {
        // Too deep: cut by UploadBuilder.stack (rare; not remembered, each one counts as truncated).
        const leafFirst = new Array<FunctionId>(depth);
        for (let k = 0; k < depth; k++) leafFirst[k] = frames[stack[depth - 1 - k]!]!;
        hash = b.stack(leafFirst);
      } else {
        const e = catalog.stackIdOfSlots(stack, depth, frameLo, frameHi);
        if (b.needsStack(e)) {
          const rootFirst = new Array<string>(depth);
          for (let k = 0; k < depth; k++) rootFirst[k] = frames[stack[k]!]!.id;
          b.addStack(e, rootFirst);
        }
        hash = e.id;
        if (seenSlot >= 0) {
          seen.at[2 * seenSlot] = idsStart;
          seen.at[2 * seenSlot + 1] = idsEnd - idsStart;
          seen.stacks[seenSlot] = hash;
        }
      }
    }
    let series = baseSeries;
    let spanId = '0';
    let traceId = '0';
    const nLabels = reader.labelCount;
    if (nLabels > 0) {
      const keys = reader.labelKey;
      const strs = reader.labelStr;
      let h = nLabels;
      for (let j = 0; j < nLabels; j++) {
        h = Math.imul(h ^ keys[j]!, 0x9e3779b1);
        h = Math.imul(h ^ strs[j]!, 0x85ebca77);
      }
      h = (h ^ (h >>> 15)) & 0x3fffffff; // a small integer: cheap as a Map key
      const first = seriesOf.get(h);
      let cached = first;
      while (cached !== undefined && !sameLabels(cached, keys, strs, nLabels)) cached = cached.next;
      if (cached === undefined) {
        const labels = new Map(baseLabels);
        let span = '0';
        let trace = '0';
        for (let j = 0; j < nLabels; j++) {
          if (strs[j] === 0) continue; // numeric labels are not series labels
          const key = str(keys[j], 'label key');
          const value = str(strs[j], 'label value');
          if (SPAN_LABELS.has(key)) {
            if (key === 'span_id') span = hexId(value, 16);
            else trace = hexId(value, 32);
            continue;
          }
          labels.set(sanitizeLabelName(key), value);
        }
        if ((labels.get('service') ?? '') === '') labels.set('service', baseLabels.get('service') ?? '');
        cached = {
          keys: Array.from(keys.subarray(0, nLabels)),
          strs: Array.from(strs.subarray(0, nLabels)),
          series: b.series(labels),
          spanId: span,
          traceId: trace,
          next: first,
        };
        seriesOf.set(h, cached);
      }
      series = cached.series;
      spanId = cached.spanId;
      traceId = cached.traceId;
    }
    const values = reader.values;
    for (let i = 0; i < nTypes; i++) {
      const v = values[i]!;
      if (v !== 0) b.add(i, series, hash, v, spanId, traceId);
    }
  }
}

function sameLabels(c: SeriesOfLabels, keys: Float64Array, strs: Float64Array, n: number): boolean {
  if (c.keys.length !== n) return false;
  for (let j = 0; j < n; j++) if (c.keys[j] !== keys[j] || c.strs[j] !== strs[j]) return false;
  return true;
}

/** A hex span/trace id as an unsigned decimal; '0' when it is not hex of at most `digits` digits. */
function hexId(value: string, digits: number): string {
  const v = value.startsWith('0x') ? value.slice(2) : value;
  if (v.length === 0 || v.length > digits || !/^[0-9a-fA-F]+$/.test(v)) return '0';
  return BigInt(`0x${v}`).toString();
}
