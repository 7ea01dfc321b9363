// pprof uploads → rows. Every index is checked: a profile pointing outside its own tables is a 400.
import { basename } from 'node:path';
import type { FunctionId, FunctionInfo } from '../catalog.js';
import { SPAN_LABELS, sanitizeLabelName } from './labels.js';
import { IngestError } from './limits.js';
import { decodeRawPprof, type RawProfile } from './pprof-decode.js';
import type { SampleType, UploadBuilder } from './rows.js';

type Numeric = number | bigint;
const num = (v: Numeric | undefined): number => (v === undefined ? 0 : Number(v));

export function decodePprof(bytes: Buffer): RawProfile {
  return decodeRawPprof(bytes);
}

/** Sample types of a profile, validated. */
export function sampleTypes(p: RawProfile): SampleType[] {
  const strings = p.stringTable.strings;
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

/**
 * Adds the samples of a decoded pprof to `b`. Sample string labels become series labels over
 * `baseLabels` (so one agent upload holds a series per process); `span_id`/`trace_id` go to their columns.
 */
export function addPprof(p: RawProfile, b: UploadBuilder, baseLabels: ReadonlyMap<string, string>): void {
  const strings = p.stringTable.strings;
  const str = (i: Numeric | undefined, what: string): string => stringAt(strings, i, what);

  const functions = new Map<number, FunctionInfo>();
  for (const f of p.function) {
    functions.set(num(f.id), {
      name: str(f.name, 'function name'),
      systemName: str(f.systemName, 'function system name'),
      filename: str(f.filename, 'function file name'),
    });
  }
  const mappings = new Map<number, { file: string; start: bigint; offset: bigint }>();
  for (const m of p.mapping) {
    mappings.set(num(m.id), { file: str(m.filename, 'mapping file name'), start: m.memoryStart, offset: m.fileOffset });
  }
  // Location id → function ids of its lines, innermost first (the pprof order).
  const locations = new Map<number, FunctionId[]>();
  const fnIds = new Map<number, FunctionId>();
  for (const l of p.location) {
    const ids: FunctionId[] = [];
    for (const line of l.line) {
      const fid = num(line.functionId);
      const fn = functions.get(fid);
      if (fn === undefined) {
        if (fid === 0) continue;
        throw new IngestError(400, `pprof location ${num(l.id)} refers to function ${fid}, which the profile does not define`, 'bad_pprof');
      }
      let id = fnIds.get(fid);
      if (id === undefined) fnIds.set(fid, (id = b.fn(fn)));
      ids.push(id);
    }
    if (ids.length === 0) {
      const mid = num(l.mappingId);
      const m = mappings.get(mid);
      if (mid !== 0 && m === undefined) {
        throw new IngestError(400, `pprof location ${num(l.id)} refers to mapping ${mid}, which the profile does not define`, 'bad_pprof');
      }
      const addr = l.address;
      const name = m === undefined ? `[unknown] 0x${addr.toString(16)}` : `[unknown] ${basename(m.file) || '?'}+0x${(addr - m.start + m.offset).toString(16)}`;
      ids.push(b.fn({ name, systemName: '', filename: '' }));
    }
    locations.set(num(l.id), ids);
  }

  const nTypes = p.sampleType.length;
  const seriesCache = new Map<string, { series: ReturnType<UploadBuilder['series']>; spanId: string; traceId: string }>();
  const baseSeries = b.series(baseLabels);
  for (const s of p.sample) {
    b.countSample();
    if (s.value.length !== nTypes) {
      throw new IngestError(400, `a pprof sample has ${s.value.length} values for ${nTypes} sample types`, 'bad_pprof');
    }
    const frames: FunctionId[] = [];
    for (const id of s.locationId) {
      const ids = locations.get(num(id));
      if (ids === undefined) throw new IngestError(400, `a pprof sample refers to location ${num(id)}, which the profile does not define`, 'bad_pprof');
      for (let k = 0; k < ids.length; k++) frames.push(ids[k]!);
    }
    const hash = b.stack(frames);
    let series = baseSeries;
    let spanId = '0';
    let traceId = '0';
    if (s.label.length > 0) {
      const labelKey = s.label.map((l) => `${num(l.key)}:${num(l.str)}`).join(',');
      let cached = seriesCache.get(labelKey);
      if (cached === undefined) {
        const labels = new Map(baseLabels);
        let span = '0';
        let trace = '0';
        for (const l of s.label) {
          if (num(l.str) === 0) continue; // numeric labels are not series labels
          const key = str(l.key, 'label key');
          const value = str(l.str, 'label value');
          if (SPAN_LABELS.has(key)) {
            if (key === 'span_id') span = hexId(value, 16);
            else trace = hexId(value, 32);
            continue;
          }
          labels.set(sanitizeLabelName(key), value);
        }
        if ((labels.get('service') ?? '') === '') labels.set('service', baseLabels.get('service') ?? '');
        cached = { series: b.series(labels), spanId: span, traceId: trace };
        seriesCache.set(labelKey, cached);
      }
      series = cached.series;
      spanId = cached.spanId;
      traceId = cached.traceId;
    }
    for (let i = 0; i < nTypes; i++) {
      const v = num(s.value[i]);
      if (v !== 0) b.add(i, series, hash, v, spanId, traceId);
    }
  }
}

/** A hex span/trace id as an unsigned decimal; '0' when it is not hex of at most `digits` digits. */
function hexId(value: string, digits: number): string {
  const v = value.startsWith('0x') ? value.slice(2) : value;
  if (v.length === 0 || v.length > digits || !/^[0-9a-fA-F]+$/.test(v)) return '0';
  return BigInt(`0x${v}`).toString();
}
