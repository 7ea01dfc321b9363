// A minimal protobuf decoder for pprof (profile.proto), straight into typed arrays: several
// times faster than a generic decoder that builds a class instance per message. Only the fields
// ingest uses are kept; malformed input throws a PprofError.

/** The bytes are not a pprof profile; the message says where decoding stopped. */
export class PprofError extends Error {
  override name = 'PprofError';
}

export interface RawValueType {
  type: number;
  unit: number;
}
export interface RawMapping {
  id: number;
  memoryStart: bigint;
  fileOffset: bigint;
  filename: number;
}

/**
 * A decoded profile as flat arrays of numbers (no object per function, location or sample):
 * samples stay byte ranges of `buf`, read one at a time by `SampleReader`. The arrays are scratch
 * shared by all decodes (longer than their counts): a RawProfile is valid until the next
 * `decodeRawPprof`, which is how ingest uses it (decode, then rows, synchronously).
 */
export interface RawProfile {
  buf: Buffer;
  /** A DataView of `buf`. */
  view: DataView;
  sampleType: RawValueType[];
  mapping: RawMapping[];
  /** String i of the table (0 <= i < stringCount) is bytes strStart[i] .. strEnd[i] of `buf`, decoded by `stringOf`. */
  stringCount: number;
  strStart: Int32Array;
  strEnd: Int32Array;
  /** A hash of each string's bytes (`bytesHash`). */
  strHash: Int32Array;
  /** The strings decoded so far. */
  strings: (string | undefined)[];
  /** Functions 0 .. functionCount. Numbers as decoded (uint64 varints may exceed int32). */
  functionCount: number;
  fnId: Float64Array;
  fnName: Float64Array;
  fnSystemName: Float64Array;
  fnFilename: Float64Array;
  fnStartLine: Float64Array;
  locationCount: number;
  locId: Float64Array;
  locMapping: Float64Array;
  /** Offset in `buf` of the location's address varint, -1 when it has none. */
  locAddressAt: Int32Array;
  /** Lines of location i are lineFunction[locLineStart[i] .. locLineStart[i + 1]). */
  locLineStart: Int32Array;
  lineFunction: Float64Array;
  sampleCount: number;
  sampleStart: Int32Array;
  sampleEnd: Int32Array;
  timeNanos: number;
  durationNanos: number;
  /** Which decode filled the scratch arrays (see `checkCurrent`). */
  generation: number;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start;
  }
  varint(): number {
    // Values of one or two bytes (tags, ids and indices below 2^14) first: most varints of a profile.
    const pos = this.pos;
    if (pos + 1 < this.end) {
      const b0 = this.buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
      const b1 = this.buf[pos + 1]!;
      if (b1 < 0x80) {
        this.pos = pos + 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw bad('varint longer than 10 bytes');
  }
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw bad('varint longer than 10 bytes');
  }
  /** The end offset of a length-delimited field starting here. */
  length(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.end) throw bad('a field runs past the end of its message');
    return end;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos = this.length();
    else if (wire === 5) this.pos += 4;
    else throw bad(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw bad('a field runs past the end of its message');
  }
  int64(): number {
    const start = this.pos;
    const v = this.varint();
    // Negative int64 values are 10-byte varints; decode them exactly through BigInt.
    if (this.pos - start === 10) {
      this.pos = start;
      return Number(BigInt.asIntN(64, this.varintBig()));
    }
    return v;
  }
}

function bad(what: string): PprofError {
  return new PprofError(`the body is not a valid pprof profile: ${what}`);
}

function growF64(a: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> {
  if (n < a.length) return a;
  const b = new Float64Array(Math.max(2 * a.length, n + 1));
  b.set(a);
  return b;
}
function growI32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (n < a.length) return a;
  const b = new Int32Array(Math.max(2 * a.length, n + 1));
  b.set(a);
  return b;
}

// The decoder's scratch, grown to the largest profile seen (up to KEPT entries: an outsized
// profile's arrays are dropped at the next decode).
const KEPT = 1 << 17;
const newScratch = () => ({
  strStart: new Int32Array(1024),
  strEnd: new Int32Array(1024),
  strHash: new Int32Array(1024),
  fnId: new Float64Array(1024),
  fnName: new Float64Array(1024),
  fnSystemName: new Float64Array(1024),
  fnFilename: new Float64Array(1024),
  fnStartLine: new Float64Array(1024),
  locId: new Float64Array(1024),
  locMapping: new Float64Array(1024),
  locAddressAt: new Int32Array(1024),
  locLineStart: new Int32Array(1024),
  lineFunction: new Float64Array(1024),
  sampleStart: new Int32Array(1024),
  sampleEnd: new Int32Array(1024),
});
let s = newScratch();
let generation = 0;

/** Throws unless `p` is from the latest decode (its scratch arrays not yet reused). */
export function checkCurrent(p: RawProfile): void {
  if (p.generation !== generation) throw new Error('a RawProfile was used after another profile was decoded');
}

export function decodeRawPprof(buf: Buffer): RawProfile {
  const sampleType: RawValueType[] = [];
  const mappings: RawMapping[] = [];
  let nStr = 0;
  let nFn = 0;
  let nLoc = 0;
  let nLine = 0;
  let nSample = 0;
  let timeNanos = 0;
  let durationNanos = 0;
  // Profiles decoded before are invalid from here on (even if this decode throws).
  const gen = ++generation;
  if (
    s.strStart.length > KEPT ||
    s.fnId.length > KEPT ||
    s.locId.length > KEPT ||
    s.lineFunction.length > KEPT ||
    s.sampleStart.length > KEPT
  )
    s = newScratch();
  s.locLineStart[0] = 0;
  // Tags and lengths of one byte are read inline (most of them), others through `r`.
  const r = new Reader(buf, 0, buf.length);
  const m = new Reader(buf, 0, 0);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const len = buf.length;
  let pos = 0;
  while (pos < len) {
    let tag = buf[pos]!;
    if (tag < 0x80) pos++;
    else {
      r.pos = pos;
      tag = r.varint();
      pos = r.pos;
    }
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 2 && field >= 1 && field <= 6) {
      let end = pos < len ? buf[pos]! : 0x80;
      if (end < 0x80) end += ++pos;
      else {
        r.pos = pos;
        end = r.length();
        pos = r.pos;
      }
      if (end > len) throw bad('a field runs past the end of its message');
      switch (field) {
        case 1:
          sampleType.push(valueType(new Reader(buf, pos, end)));
          break;
        case 2:
          if (nSample === s.sampleStart.length) {
            s.sampleStart = growI32(s.sampleStart, nSample);
            s.sampleEnd = growI32(s.sampleEnd, nSample);
          }
          s.sampleStart[nSample] = pos;
          s.sampleEnd[nSample++] = end;
          break;
        case 3:
          mappings.push(mapping(new Reader(buf, pos, end)));
          break;
        case 4:
          if (nLoc + 1 >= s.locId.length) {
            s.locId = growF64(s.locId, nLoc + 1);
            s.locMapping = growF64(s.locMapping, nLoc + 1);
            s.locAddressAt = growI32(s.locAddressAt, nLoc + 1);
            s.locLineStart = growI32(s.locLineStart, nLoc + 1);
          }
          nLine = location(m, pos, end, nLoc++, nLine);
          break;
        case 5:
          if (nFn === s.fnId.length) {
            s.fnId = growF64(s.fnId, nFn);
            s.fnName = growF64(s.fnName, nFn);
            s.fnSystemName = growF64(s.fnSystemName, nFn);
            s.fnFilename = growF64(s.fnFilename, nFn);
            s.fnStartLine = growF64(s.fnStartLine, nFn);
          }
          fn(m, pos, end, nFn++);
          break;
        case 6:
          if (nStr === s.strStart.length) {
            s.strStart = growI32(s.strStart, nStr);
            s.strEnd = growI32(s.strEnd, nStr);
            s.strHash = growI32(s.strHash, nStr);
          }
          s.strStart[nStr] = pos;
          s.strEnd[nStr] = end;
          s.strHash[nStr++] = bytesHash(buf, view, pos, end);
          break;
      }
      pos = end;
    } else {
      r.pos = pos;
      if (field === 9 && wire === 0) timeNanos = r.int64();
      else if (field === 10 && wire === 0) durationNanos = r.int64();
      else r.skip(wire);
      pos = r.pos;
    }
  }
  if (nStr === 0 || s.strEnd[0] !== s.strStart[0]) throw bad("the string table must start with ''");
  return {
    buf,
    view,
    sampleType,
    mapping: mappings,
    stringCount: nStr,
    strStart: s.strStart,
    strEnd: s.strEnd,
    strHash: s.strHash,
    strings: new Array<string | undefined>(nStr),
    functionCount: nFn,
    fnId: s.fnId,
    fnName: s.fnName,
    fnSystemName: s.fnSystemName,
    fnFilename: s.fnFilename,
    fnStartLine: s.fnStartLine,
    locationCount: nLoc,
    locId: s.locId,
    locMapping: s.locMapping,
    locAddressAt: s.locAddressAt,
    locLineStart: s.locLineStart,
    lineFunction: s.lineFunction,
    sampleCount: nSample,
    sampleStart: s.sampleStart,
    sampleEnd: s.sampleEnd,
    timeNanos,
    durationNanos,
    generation: gen,
  };
}

/** String `i` of the table (0 <= i < p.stringCount). */
export function stringOf(p: RawProfile, i: number): string {
  return (p.strings[i] ??= cachedString(p.buf, p.view, p.strStart[i]!, p.strEnd[i]!));
}

/** A hash of bytes start .. end of `buf` (`view` over it), 4 at a time; `lastAscii`: whether all are below 0x80. */
export function bytesHash(buf: Buffer, view: DataView, start: number, end: number): number {
  let h = end - start;
  let bits = 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const w = view.getInt32(i, true);
    bits |= w;
    h = Math.imul(h ^ w, 0x9e3779b1);
    h ^= h >>> 16;
  }
  for (; i < end; i++) {
    const c = buf[i]!;
    bits |= c;
    h = Math.imul(h ^ c, 0x9e3779b1);
    h ^= h >>> 16;
  }
  lastAscii = (bits & 0x80808080) === 0;
  return h;
}
let lastAscii = false;

// Uploads of one fleet repeat the same function names, files and labels: short ASCII strings are
// decoded once and the same string object is returned for the same bytes (no UTF-8 decoding,
// and maps keyed by them reuse the hash cached in the string). Bounded: a full slot is replaced.
const CACHE_SLOTS = 1 << 18;
const cacheHashes = new Int32Array(CACHE_SLOTS);
const cacheStrings = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);

function cachedString(buf: Buffer, view: DataView, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len > 256) return buf.toString('utf8', start, end);
  const h = bytesHash(buf, view, start, end);
  if (!lastAscii) return buf.toString('utf8', start, end);
  let slot = h & (CACHE_SLOTS - 1);
  for (let probe = 0; probe < 4; probe++, slot = (slot + 1) & (CACHE_SLOTS - 1)) {
    const s = cacheStrings[slot];
    if (s === undefined) break;
    if (cacheHashes[slot] !== h || s.length !== len) continue;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (s.charCodeAt(i) !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return s;
  }
  const v = buf.toString('latin1', start, end);
  cacheHashes[slot] = h;
  cacheStrings[slot] = v;
  return v;
}

/** The address of location `i` (0 when it has none). */
export function locationAddress(p: RawProfile, i: number): bigint {
  const at = p.locAddressAt[i]!;
  if (at < 0) return 0n;
  return new Reader(p.buf, at, p.buf.length).varintBig();
}

/** One sample at a time, into scratch arrays reused from sample to sample. */
export class SampleReader {
  /** Location ids [0, locationCount), leaf first. */
  locationIds = new Float64Array(256);
  locationCount = 0;
  /** Where in `buf` the location ids are when all are in one packed field (else locationsStart < 0). */
  locationsStart = -1;
  locationsEnd = -1;
  values = new Float64Array(8);
  valueCount = 0;
  /** String labels' key and str string indices [0, labelCount). */
  labelKey = new Float64Array(16);
  labelStr = new Float64Array(16);
  labelCount = 0;
  readonly #r: Reader;
  constructor(readonly p: RawProfile) {
    this.#r = new Reader(p.buf, 0, 0);
  }
  read(i: number): void {
    const m = this.#r;
    const buf = m.buf;
    const end = this.p.sampleEnd[i]!;
    m.end = end;
    this.locationCount = 0;
    this.locationsStart = -1;
    this.locationsEnd = -1;
    this.valueCount = 0;
    this.labelCount = 0;
    let pos = this.p.sampleStart[i]!;
    while (pos < end) {
      m.pos = pos;
      const tag = m.varint();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1) this.#locations(wire);
      else if (field === 2) {
        if (wire === 2) {
          const valuesEnd = m.length();
          m.end = valuesEnd;
          while (m.pos < valuesEnd) this.#value(m.int64());
          m.end = end;
        } else if (wire === 0) this.#value(m.int64());
        else throw bad(`unexpected wire type ${wire} for a repeated integer`);
      } else if (field === 3 && wire === 2) {
        const labelEnd = m.length();
        m.end = labelEnd;
        let key = 0;
        let str = 0;
        // Usually key, then str, as one-byte tags.
        while (m.pos < labelEnd) {
          const t = buf[m.pos]!;
          if (t === 0x08 || t === 0x10) {
            m.pos++;
            if (t === 0x08) key = m.varint();
            else str = m.varint();
          } else {
            const t = m.varint();
            const w = t & 7;
            if (t >>> 3 === 1 && w === 0) key = m.varint();
            else if (t >>> 3 === 2 && w === 0) str = m.varint();
            else m.skip(w);
          }
        }
        m.end = end;
        let n = this.labelCount;
        if (n === this.labelKey.length) {
          this.labelKey = growF64(this.labelKey, n);
          this.labelStr = growF64(this.labelStr, n);
        }
        this.labelKey[n] = key;
        this.labelStr[n++] = str;
        this.labelCount = n;
      } else m.skip(wire);
      pos = m.pos;
    }
  }
  #value(v: number): void {
    if (this.valueCount === this.values.length) this.values = growF64(this.values, this.valueCount);
    this.values[this.valueCount++] = v;
  }
  /** Location ids, packed or not. */
  #locations(wire: number): void {
    const m = this.#r;
    if (wire === 0) {
      const v = m.varint();
      if (this.locationCount === this.locationIds.length) this.locationIds = growF64(this.locationIds, this.locationCount);
      this.locationIds[this.locationCount++] = v;
      this.locationsStart = -2;
      return;
    }
    if (wire !== 2) throw bad(`unexpected wire type ${wire} for a repeated integer`);
    const end = m.length();
    const outer = m.end;
    m.end = end;
    if (this.locationsStart === -1) {
      this.locationsStart = m.pos;
      this.locationsEnd = end;
    } else this.locationsStart = -2;
    // At most one id per byte: room for them all first.
    let n = this.locationCount;
    if (n + end - m.pos > this.locationIds.length) this.locationIds = growF64(this.locationIds, n + end - m.pos);
    const ids = this.locationIds;
    // Ids below 2^14 (one or two bytes) inline: the sample loop's hottest path.
    const buf = m.buf;
    let pos = m.pos;
    while (pos < end) {
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        ids[n++] = b0;
        pos++;
        continue;
      }
      const b1 = pos + 1 < end ? buf[pos + 1]! : 0x80;
      if (b1 < 0x80) {
        ids[n++] = (b0 & 0x7f) | (b1 << 7);
        pos += 2;
      } else {
        m.pos = pos;
        ids[n++] = m.varint();
        pos = m.pos;
      }
    }
    m.pos = pos;
    this.locationCount = n;
    m.end = outer;
  }
}

function valueType(m: Reader): RawValueType {
  const v = { type: 0, unit: 0 };
  while (m.pos < m.end) {
    const tag = m.varint();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === 0) v.type = m.varint();
    else if (tag >>> 3 === 2 && wire === 0) v.unit = m.varint();
    else m.skip(wire);
  }
  return v;
}

function mapping(m: Reader): RawMapping {
  const x: RawMapping = { id: 0, memoryStart: 0n, fileOffset: 0n, filename: 0 };
  while (m.pos < m.end) {
    const tag = m.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire !== 0) m.skip(wire);
    else if (field === 1) x.id = m.varint();
    else if (field === 2) x.memoryStart = m.varintBig();
    else if (field === 4) x.fileOffset = m.varintBig();
    else if (field === 5) x.filename = m.varint();
    else m.varint();
  }
  return x;
}

/** Decodes location `i` into the scratch arrays; returns the new number of lines. */
function location(m: Reader, start: number, end: number, i: number, nLine: number): number {
  m.pos = start;
  m.end = end;
  let id = 0;
  let mappingId = 0;
  let addressAt = -1;
  while (m.pos < end) {
    const tag = m.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 4 && wire === 2) {
      const lineEnd = m.length();
      m.end = lineEnd;
      let functionId = 0;
      while (m.pos < lineEnd) {
        const t = m.varint();
        if (t === 8) functionId = m.varint();
        else m.skip(t & 7);
      }
      m.end = end;
      if (nLine === s.lineFunction.length) s.lineFunction = growF64(s.lineFunction, nLine);
      s.lineFunction[nLine++] = functionId;
    } else if (wire !== 0) m.skip(wire);
    else {
      if (field === 3) addressAt = m.pos;
      const v = m.varint();
      if (field === 1) id = v;
      else if (field === 2) mappingId = v;
    }
  }
  s.locId[i] = id;
  s.locMapping[i] = mappingId;
  s.locAddressAt[i] = addressAt;
  s.locLineStart[i + 1] = nLine;
  return nLine;
}

function fn(m: Reader, start: number, end: number, i: number): void {
  m.pos = start;
  m.end = end;
  let id = 0;
  let name = 0;
  let systemName = 0;
  let filename = 0;
  let startLine = 0;
  while (m.pos < end) {
    const tag = m.varint();
    const wire = tag & 7;
    if (wire !== 0) {
      m.skip(wire);
      continue;
    }
    const field = tag >>> 3;
    const v = m.varint();
    if (field === 1) id = v;
    else if (field === 2) name = v;
    else if (field === 3) systemName = v;
    else if (field === 4) filename = v;
    else if (field === 5) startLine = v;
  }
  s.fnId[i] = id;
  s.fnName[i] = name;
  s.fnSystemName[i] = systemName;
  s.fnFilename[i] = filename;
  s.fnStartLine[i] = startLine;
}
