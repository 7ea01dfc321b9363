// Serializes a pprof-format Profile to the same bytes as its own encode(), ~3× faster in the
// agent (whose code never leaves V8's baseline tier) and without garbage: pprof-format allocates
// an array for every number it measures or writes (12 MB for a 45 KB profile); this walks the
// message twice (sizes, then bytes) into one buffer. Field order and the omission of zero fields
// follow pprof-format exactly.
import type { Function as PprofFunction, Label, Line, Location, Mapping, Profile, Sample, ValueType } from 'pprof-format';

type Numeric = number | bigint;

const TWO_POW_64 = 1n << 64n;

function isZero(v: Numeric | undefined): boolean {
  return v === undefined || v === 0 || v === 0n;
}

/** Bytes of a varint; negative values take 10 (64-bit two's complement), as in pprof-format. */
function varintSize(v: Numeric): number {
  if (typeof v === 'number') {
    if (v < 0) return 10;
    if (v < 128) return 1;
    if (v < 16384) return 2;
    let n = 1;
    while (v >= 128) {
      v = Math.floor(v / 128);
      n++;
    }
    return n;
  }
  let u = v < 0n ? v + TWO_POW_64 : v;
  let n = 1;
  while (u >= 128n) {
    u >>= 7n;
    n++;
  }
  return n;
}

/** A varint field (tag + value), or nothing when the value is zero. */
function fieldSize(v: Numeric | undefined): number {
  return isZero(v) ? 0 : 1 + varintSize(v!);
}

/** A length-delimited field: tag, length, payload. */
function delimitedSize(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

/** Packed repeated varints; zeros take one byte each. */
function packedPayload(values: readonly Numeric[]): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) n += varintSize(values[i]!);
  return n;
}

const valueTypeSize = (t: ValueType): number => fieldSize(t.type) + fieldSize(t.unit);
const labelSize = (l: Label): number => fieldSize(l.key) + fieldSize(l.str) + fieldSize(l.num) + fieldSize(l.numUnit);
const lineSize = (l: Line): number => fieldSize(l.functionId) + fieldSize(l.line) + fieldSize(l.column);
const functionSize = (f: PprofFunction): number =>
  fieldSize(f.id) + fieldSize(f.name) + fieldSize(f.systemName) + fieldSize(f.filename) + fieldSize(f.startLine);

function sampleSize(s: Sample): number {
  let n = 0;
  if (s.locationId.length) n += delimitedSize(packedPayload(s.locationId));
  if (s.value.length) n += delimitedSize(packedPayload(s.value));
  for (let i = 0; i < s.label.length; i++) n += delimitedSize(labelSize(s.label[i]!));
  return n;
}

function mappingSize(m: Mapping): number {
  return (
    fieldSize(m.id) +
    fieldSize(m.memoryStart) +
    fieldSize(m.memoryLimit) +
    fieldSize(m.fileOffset) +
    fieldSize(m.filename) +
    fieldSize(m.buildId) +
    (m.hasFunctions ? 2 : 0) +
    (m.hasFilenames ? 2 : 0) +
    (m.hasLineNumbers ? 2 : 0) +
    (m.hasInlineFrames ? 2 : 0)
  );
}

function locationSize(l: Location): number {
  let n = fieldSize(l.id) + fieldSize(l.mappingId) + fieldSize(l.address);
  for (let i = 0; i < l.line.length; i++) n += delimitedSize(lineSize(l.line[i]!));
  return n + (l.isFolded ? 2 : 0);
}

class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  varint(v: Numeric): void {
    const buf = this.buf;
    if (typeof v === 'number' && v >= 0) {
      if (v < 128) {
        buf[this.pos++] = v;
        return;
      }
      while (v >= 128) {
        buf[this.pos++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
      buf[this.pos++] = v;
      return;
    }
    let u = BigInt(v);
    if (u < 0n) u += TWO_POW_64;
    while (u >= 128n) {
      buf[this.pos++] = Number(u & 127n) | 128;
      u >>= 7n;
    }
    buf[this.pos++] = Number(u);
  }

  field(tag: number, v: Numeric | undefined): void {
    if (isZero(v)) return;
    this.buf[this.pos++] = tag;
    this.varint(v!);
  }

  flag(tag: number, on: boolean | undefined): void {
    if (!on) return;
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
  }

  header(tag: number, payload: number): void {
    this.buf[this.pos++] = tag;
    this.varint(payload);
  }

  packed(tag: number, values: readonly Numeric[]): void {
    if (!values.length) return;
    this.header(tag, packedPayload(values));
    for (let i = 0; i < values.length; i++) this.varint(values[i]!);
  }

  valueType(tag: number, t: ValueType): void {
    this.header(tag, valueTypeSize(t));
    this.field(8, t.type);
    this.field(16, t.unit);
  }
}

/** The protobuf encoding of `p`, byte for byte what `p.encode()` returns. */
export function encodeProfile(p: Profile): Uint8Array {
  // Indexed loops: for-of allocates an iterator result per element in V8's baseline tier.
  let size = p.stringTable.encodedLength;
  for (let i = 0; i < p.sampleType.length; i++) size += delimitedSize(valueTypeSize(p.sampleType[i]!));
  for (let i = 0; i < p.sample.length; i++) size += delimitedSize(sampleSize(p.sample[i]!));
  for (let i = 0; i < p.mapping.length; i++) size += delimitedSize(mappingSize(p.mapping[i]!));
  for (let i = 0; i < p.location.length; i++) size += delimitedSize(locationSize(p.location[i]!));
  for (let i = 0; i < p.function.length; i++) size += delimitedSize(functionSize(p.function[i]!));
  size += fieldSize(p.dropFrames) + fieldSize(p.keepFrames) + fieldSize(p.timeNanos) + fieldSize(p.durationNanos);
  if (p.periodType !== undefined) size += delimitedSize(valueTypeSize(p.periodType));
  size += fieldSize(p.period);
  if (p.comment.length) size += delimitedSize(packedPayload(p.comment));
  size += fieldSize(p.defaultSampleType) + fieldSize(p.docUrl);

  const w = new Writer(new Uint8Array(size));
  for (let i = 0; i < p.sampleType.length; i++) w.valueType(10, p.sampleType[i]!);
  for (let i = 0; i < p.sample.length; i++) {
    const s = p.sample[i]!;
    w.header(18, sampleSize(s));
    w.packed(10, s.locationId);
    w.packed(18, s.value);
    for (let j = 0; j < s.label.length; j++) {
      const l = s.label[j]!;
      w.header(26, labelSize(l));
      w.field(8, l.key);
      w.field(16, l.str);
      w.field(24, l.num);
      w.field(32, l.numUnit);
    }
  }
  for (let i = 0; i < p.mapping.length; i++) {
    const m = p.mapping[i]!;
    w.header(26, mappingSize(m));
    w.field(8, m.id);
    w.field(16, m.memoryStart);
    w.field(24, m.memoryLimit);
    w.field(32, m.fileOffset);
    w.field(40, m.filename);
    w.field(48, m.buildId);
    w.flag(56, m.hasFunctions);
    w.flag(64, m.hasFilenames);
    w.flag(72, m.hasLineNumbers);
    w.flag(80, m.hasInlineFrames);
  }
  for (let i = 0; i < p.location.length; i++) {
    const l = p.location[i]!;
    w.header(34, locationSize(l));
    w.field(8, l.id);
    w.field(16, l.mappingId);
    w.field(24, l.address);
    for (let j = 0; j < l.line.length; j++) {
      const line = l.line[j]!;
      w.header(34, lineSize(line));
      w.field(8, line.functionId);
      w.field(16, line.line);
      w.field(24, line.column);
    }
    w.flag(40, l.isFolded);
  }
  for (let i = 0; i < p.function.length; i++) {
    const f = p.function[i]!;
    w.header(42, functionSize(f));
    w.field(8, f.id);
    w.field(16, f.name);
    w.field(24, f.systemName);
    w.field(32, f.filename);
    w.field(40, f.startLine);
  }
  w.pos = p.stringTable._encodeToBuffer(w.buf, w.pos);
  w.field(56, p.dropFrames);
  w.field(64, p.keepFrames);
  w.field(72, p.timeNanos);
  w.field(80, p.durationNanos);
  if (p.periodType !== undefined) w.valueType(90, p.periodType);
  w.field(96, p.period);
  w.packed(106, p.comment);
  w.field(112, p.defaultSampleType);
  w.field(120, p.docUrl);
  if (w.pos !== size) throw new Error(`pprof encoding: wrote ${w.pos} of ${size} bytes`);
  return w.buf;
}
