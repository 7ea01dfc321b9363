// A selection as a pprof profile: one sample per (series, stack), series labels as sample labels,
// one location per function (a stack's frames, inline ones included, each become a frame).
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { encodeProfile } from '@kiln/api/pprof';
import { functionKey, type FunctionInfo } from '../catalog.js';
import { foldedSampleNs, forEachFoldedLine } from '../ingest/folded.js';
import type { QueryEngine, Selection } from './engine.js';
import type { StoredUpload } from './profiles.js';

const gzipAsync = promisify(gzip);

export interface ExportInput {
  profileType: string;
  unit: string;
  fromMs: number;
  untilMs: number;
  rows: { labels: Record<string, string>; frames: FunctionInfo[]; value: number }[];
}

export function buildPprof(input: ExportInput): Profile {
  const strings = new StringTable();
  const functions = new Map<string, PprofFunction>();
  const locations: Location[] = [];
  const locationOf = (f: FunctionInfo): number => {
    const key = functionKey(f);
    let fn = functions.get(key);
    if (fn === undefined) {
      const id = functions.size + 1;
      fn = new PprofFunction({
        id,
        name: strings.dedup(f.name),
        systemName: strings.dedup(f.systemName || f.name),
        filename: strings.dedup(f.filename),
        startLine: f.startLine,
      });
      functions.set(key, fn);
      locations.push(new Location({ id, line: [new Line({ functionId: id })] }));
    }
    return Number(fn.id);
  };
  const samples = input.rows.map((r) => {
    const locationId: number[] = [];
    for (let i = r.frames.length - 1; i >= 0; i--) locationId.push(locationOf(r.frames[i]!));
    const label = Object.entries(r.labels)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => new Label({ key: strings.dedup(k), str: strings.dedup(v) }));
    return new Sample({ locationId, value: [r.value], label });
  });
  const type = new ValueType({ type: strings.dedup(input.profileType), unit: strings.dedup(input.unit) });
  return new Profile({
    sampleType: [type],
    periodType: new ValueType({ type: strings.dedup(input.profileType), unit: strings.dedup(input.unit) }),
    period: 1,
    defaultSampleType: strings.dedup(input.profileType),
    timeNanos: BigInt(Math.round(input.fromMs)) * 1_000_000n,
    durationNanos: BigInt(Math.max(0, Math.round(input.untilMs - input.fromMs))) * 1_000_000n,
    sample: samples,
    location: locations,
    function: [...functions.values()],
    stringTable: strings,
  });
}

/** A selection as a gzipped pprof. */
export async function selectionPprof(engine: QueryEngine, sel: Selection): Promise<Buffer> {
  const { rows } = await engine.exportRows(sel);
  const unit = await engine.unit(sel.selector.profileType);
  return encodePprofGzip(
    buildPprof({ profileType: sel.selector.profileType, unit, fromMs: sel.range.fromMs, untilMs: sel.range.untilMs, rows }),
  );
}

export async function encodePprofGzip(p: Profile): Promise<Buffer> {
  return gzipAsync(encodeProfile(p));
}

/** A stored folded upload as a gzipped pprof (folded text has no pprof of its own): one sample per line. */
export async function foldedAsPprof(upload: StoredUpload): Promise<Buffer> {
  const ns = foldedSampleNs(upload.sampleRate || 100);
  const fn = (name: string): FunctionInfo => ({ name, systemName: '', filename: '', startLine: 0, binary: '' });
  const rows: ExportInput['rows'] = [];
  forEachFoldedLine(upload.payload.toString('utf8'), (names, count) => {
    if (count > 0) rows.push({ labels: upload.labels, frames: names.map(fn), value: count * ns });
  });
  return encodePprofGzip(buildPprof({ profileType: 'cpu', unit: 'nanoseconds', fromMs: upload.fromMs, untilMs: upload.untilMs, rows }));
}
