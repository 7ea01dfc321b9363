// pprof uploads → rows. Every index is checked: a profile pointing outside its own tables is a 400.
import { basename } from 'node:path';
import type { FunctionId } from '../catalog.js';
import { SPAN_LABELS, sanitizeLabelName } from './labels.js';
import { IngestError } from './limits.js';
import { decodeRawPprof, locationAddress, SampleReader, type RawProfile } from './pprof-decode.js';
import type { SampleType, UploadBuilder } from './rows.js';

type Numeric = number | bigint;
const num = (v: Numeric | undefined): number => (v === undefined ? 0 : Number(v));

export function decodePprof(bytes: Buffer): RawProfile {
  return decodeRawPprof(bytes);
}

/** Sample types of a profile, validated. */
export function sampleTypes(p: RawProfile): SampleType[] {
  const strings = p.strings;
  const str = (i: Numeric | undefined): string => stringAt(strings, i, 'sample type');
  if (p.sampleType.length === 0) throw new IngestError(400, 'the pprof profile has no sample types', 'bad_pprof');
  const types = p.sampleType.map((t) => ({ name: str(t.type) || 'samples', unit: str(t.unit) || 'count' }));
  const seen = new Set<string>();
  for (const t of types) {
    if (seen.has(t.name)) throw new IngestError(400, `sample type ${JSON.stringify(t.name)} appears twice`, 'bad_pprof');
    seen.add(t.name);
  }
  return types;
}

function stringAt(strings: string[], i: Numeric | undefined, what: string): string {
  const n = num(i);
  if (n < 0 || n >= strings.length || !Number.isInteger(n)) {
    throw new IngestError(400, `pprof ${what} refers to string ${n}, outside the string table (${strings.length} strings)`, 'bad_pprof');
  }
  return strings[n]!;
}

/** pprof message ids → their index in the profile's arrays (the last one wins, as in a map). */
class IdIndex {
  readonly #dense: Int32Array | undefined;
  readonly #map: Map<number, number> | undefined;
  constructor(ids: readonly number[]) {
    let max = 0;
    let dense = true;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) dense = false;
      else if (id > max) max = id;
    }
    if (dense && max <= 4 * ids.length + 64) {
      this.#dense = new Int32Array(max + 1).fill(-1);
      for (let i = 0; i < ids.length; i++) this.#dense[ids[i]!] = i;
    } else {
      this.#map = new Map();
      for (let i = 0; i < ids.length; i++) this.#map.set(ids[i]!, i);
    }
  }
  /** The index of `id`, or -1. */
  get(id: number): number {
    if (this.#dense !== undefined) return id >= 0 && id < this.#dense.length ? this.#dense[id]! : -1;
    return this.#map!.get(id) ?? -1;
  }
}

interface SeriesOfLabels {
  keys: number[];
  strs: number[];
  series: ReturnType<UploadBuilder['series']>;
  spanId: string;
  traceId: string;
  next: SeriesOfLabels | undefined;
}

/**
 * Adds the samples of a decoded pprof to `b`. Sample string labels become series labels over
 * `baseLabels` (so one agent upload holds a series per process); `span_id`/`trace_id` go to their columns.
 */
export function addPprof(p: RawProfile, b: UploadBuilder, baseLabels: ReadonlyMap<string, string>): void {
  const strings = p.strings;
  const str = (i: Numeric | undefined, what: string): string => stringAt(strings, i, what);

  const nFn = p.fnId.length;
  for (let i = 0; i < nFn; i++) {
    str(p.fnName[i], 'function name');
    str(p.fnSystemName[i], 'function system name');
    str(p.fnFilename[i], 'function file name');
  }
  const fnIndex = new IdIndex(p.fnId);
  const fnIds = new Array<FunctionId | undefined>(nFn);
  // `binary`: the file's base name, once per mapping rather than once per function.
  const mappings = new Map<number, { binary: string; start: bigint; offset: bigint }>();
  for (const m of p.mapping) {
    mappings.set(num(m.id), { binary: basename(str(m.filename, 'mapping file name')), start: m.memoryStart, offset: m.fileOffset });
  }
  // Function ids of each location's lines, innermost first (the pprof order), flattened.
  const nLoc = p.locId.length;
  const locStart = new Int32Array(nLoc + 1);
  const locFrames: FunctionId[] = [];
  for (let l = 0; l < nLoc; l++) {
    locStart[l] = locFrames.length;
    for (let k = p.locLineStart[l]!; k < p.locLineStart[l + 1]!; k++) {
      const fid = p.lineFunction[k]!;
      const fi = fnIndex.get(fid);
      if (fi < 0) {
        if (fid === 0) continue;
        throw new IngestError(400, `pprof location ${p.locId[l]} refers to function ${fid}, which the profile does not define`, 'bad_pprof');
      }
      let id = fnIds[fi];
      if (id === undefined) {
        // A function's binary is the mapping of the first location that uses it.
        const binary = mappings.get(p.locMapping[l]!)?.binary ?? '';
        const startLine = p.fnStartLine[fi]!;
        const fnName = strings[p.fnName[fi]!]!;
        fnIds[fi] = id = b.fnOf(fnName, strings[p.fnSystemName[fi]!]!, strings[p.fnFilename[fi]!]!, startLine <= 0xffffffff ? startLine : 0, binary);
      }
      locFrames.push(id);
    }
    if (locFrames.length === locStart[l]) {
      const mid = p.locMapping[l]!;
      const m = mappings.get(mid);
      if (mid !== 0 && m === undefined) {
        throw new IngestError(400, `pprof location ${p.locId[l]} refers to mapping ${mid}, which the profile does not define`, 'bad_pprof');
      }
      const addr = locationAddress(p, l);
      const name = m === undefined ? `[unknown] 0x${addr.toString(16)}` : `[unknown] ${m.binary || '?'}+0x${(addr - m.start + m.offset).toString(16)}`;
      locFrames.push(b.fnOf(name, '', ''));
    }
  }
  locStart[nLoc] = locFrames.length;
  const locIndex = new IdIndex(p.locId);

  const nTypes = p.sampleType.length;
  // Series by the sample's (key, value) label string indices, hashed.
  const seriesOf = new Map<number, SeriesOfLabels>();
  const baseSeries = b.series(baseLabels);
  const reader = new SampleReader(p);
  const frames: FunctionId[] = [];
  const nSamples = p.sampleStart.length;
  for (let si = 0; si < nSamples; si++) {
    b.countSample();
    reader.read(si);
    const values = reader.values;
    if (values.length !== nTypes) {
      throw new IngestError(400, `a pprof sample has ${values.length} values for ${nTypes} sample types`, 'bad_pprof');
    }
    frames.length = 0;
    const locationIds = reader.locationIds;
    for (let j = 0; j < locationIds.length; j++) {
      const li = locIndex.get(locationIds[j]!);
      if (li < 0) throw new IngestError(400, `a pprof sample refers to location ${locationIds[j]}, which the profile does not define`, 'bad_pprof');
      for (let k = locStart[li]!; k < locStart[li + 1]!; k++) frames.push(locFrames[k]!);
    }
    const hash = b.stack(frames);
    let series = baseSeries;
    let spanId = '0';
    let traceId = '0';
    const keys = reader.labelKey;
    if (keys.length > 0) {
      const strs = reader.labelStr;
      let h = keys.length;
      for (let j = 0; j < keys.length; j++) {
        h = Math.imul(h ^ keys[j]!, 0x9e3779b1);
        h = Math.imul(h ^ strs[j]!, 0x85ebca77);
      }
      h = (h ^ (h >>> 15)) >>> 0;
      const first = seriesOf.get(h);
      let cached = first;
      while (cached !== undefined && !sameLabels(cached, keys, strs)) cached = cached.next;
      if (cached === undefined) {
        const labels = new Map(baseLabels);
        let span = '0';
        let trace = '0';
        for (let j = 0; j < keys.length; j++) {
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
        cached = { keys: keys.slice(), strs: strs.slice(), series: b.series(labels), spanId: span, traceId: trace, next: first };
        seriesOf.set(h, cached);
      }
      series = cached.series;
      spanId = cached.spanId;
      traceId = cached.traceId;
    }
    for (let i = 0; i < nTypes; i++) {
      const v = values[i]!;
      if (v !== 0) b.add(i, series, hash, v, spanId, traceId);
    }
  }
}

function sameLabels(c: SeriesOfLabels, keys: readonly number[], strs: readonly number[]): boolean {
  if (c.keys.length !== keys.length) return false;
  for (let j = 0; j < keys.length; j++) if (c.keys[j] !== keys[j] || c.strs[j] !== strs[j]) return false;
  return true;
}

/** A hex span/trace id as an unsigned decimal; '0' when it is not hex of at most `digits` digits. */
function hexId(value: string, digits: number): string {
  const v = value.startsWith('0x') ? value.slice(2) : value;
  if (v.length === 0 || v.length > digits || !/^[0-9a-fA-F]+$/.test(v)) return '0';
  return BigInt(`0x${v}`).toString();
}
