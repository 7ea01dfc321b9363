// Builds one pprof profile (pprof-format) from symbolized samples, deduplicating strings,
// functions, mappings and locations, and merging identical samples.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { encodeProfile } from '@kiln/api/pprof';

const gzipAsync = promisify(gzip);

export interface SourceFrame {
  name: string;
  file?: string;
  line?: number;
  /** The line where the function is declared (pprof Function.start_line); absent when unknown. */
  startLine?: number;
  inlined: boolean;
}

export interface MappingRef {
  start: number;
  end: number;
  offset: number;
  path: string;
  buildId: string;
}

/** One address with its frames, innermost (inlined) first, as pprof orders a location's lines. */
export interface SymbolizedAddress {
  address: number | bigint;
  mapping?: MappingRef;
  frames: SourceFrame[];
}

export const KERNEL_MAPPING: MappingRef = { start: 0, end: 0, offset: 0, path: '[kernel.kallsyms]', buildId: '' };

interface LocationEntry {
  id: number;
  frames: readonly SourceFrame[];
  next: LocationEntry | undefined;
}

interface LabelSet {
  key: string;
  /** Shared by every sample with these labels: nothing changes a sample's labels once added. */
  labels: Label[];
}

function sameFrames(a: readonly SourceFrame[], b: readonly SourceFrame[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name || a[i]!.file !== b[i]!.file || a[i]!.line !== b[i]!.line) return false;
  return true;
}

export class PprofBuilder {
  readonly #strings = new StringTable();
  readonly #functions = new Map<string, PprofFunction>();
  readonly #mappings = new Map<string, Mapping>();
  readonly #locations: Location[] = [];
  /** mapping id → address → the location(s) at that address (more than one only if the file changed). */
  readonly #locationsAt = new Map<number, Map<number | bigint, LocationEntry>>();
  /** Mapping ids by the symbolizer's mapping objects, which it reuses: no key string per address. */
  readonly #mappingIds = new WeakMap<MappingRef, number>();
  readonly #samples = new Map<string, Sample>();
  readonly #labelSets = new WeakMap<ReadonlyArray<readonly [string, string]>, LabelSet>();
  readonly #periodNs: number;
  #totalCount = 0;

  constructor(opts: { frequency: number }) {
    this.#periodNs = Math.round(1e9 / opts.frequency);
  }

  get totalCount(): number {
    return this.#totalCount;
  }

  get sampleCount(): number {
    return this.#samples.size;
  }

  #function(frame: SourceFrame): number {
    const key = `${frame.name}\0${frame.file ?? ''}\0${frame.startLine ?? 0}`;
    let fn = this.#functions.get(key);
    if (fn === undefined) {
      fn = new PprofFunction({
        id: this.#functions.size + 1,
        name: this.#strings.dedup(frame.name),
        systemName: this.#strings.dedup(frame.name),
        filename: this.#strings.dedup(frame.file ?? ''),
        startLine: frame.startLine ?? 0,
      });
      this.#functions.set(key, fn);
    }
    return Number(fn.id);
  }

  #mapping(m: MappingRef): number {
    const known = this.#mappingIds.get(m);
    if (known !== undefined) return known;
    const key = `${m.path}\0${m.buildId}\0${m.start}\0${m.end}\0${m.offset}`;
    let mapping = this.#mappings.get(key);
    if (mapping === undefined) {
      mapping = new Mapping({
        id: this.#mappings.size + 1,
        memoryStart: m.start,
        memoryLimit: m.end,
        fileOffset: m.offset,
        filename: this.#strings.dedup(m.path),
        buildId: this.#strings.dedup(m.buildId),
        hasFunctions: true,
        hasFilenames: true,
        hasLineNumbers: true,
        hasInlineFrames: true,
      });
      this.#mappings.set(key, mapping);
    }
    this.#mappingIds.set(m, Number(mapping.id));
    return Number(mapping.id);
  }

  /** The id of the location for this address (created on first use). */
  location(addr: SymbolizedAddress): number {
    const mappingId = addr.mapping === undefined ? 0 : this.#mapping(addr.mapping);
    let atAddress = this.#locationsAt.get(mappingId);
    if (atAddress === undefined) this.#locationsAt.set(mappingId, (atAddress = new Map<number | bigint, LocationEntry>()));
    const first = atAddress.get(addr.address);
    for (let e = first; e !== undefined; e = e.next) if (sameFrames(e.frames, addr.frames)) return e.id;
    const id = this.#locations.length + 1;
    this.#locations.push(
      new Location({
        id,
        mappingId,
        address: addr.address,
        line: addr.frames.map((f) => new Line({ functionId: this.#function(f), line: f.line ?? 0 })),
      }),
    );
    atAddress.set(addr.address, { id, frames: addr.frames, next: first });
    return id;
  }

  /** Adds `count` samples of a stack (location ids leaf first) with string labels. */
  addSample(locationIds: number[], labels: ReadonlyArray<readonly [string, string]>, count: number): void {
    const labelSet = this.#labelSet(labels);
    const key = `${locationIds.join(',')}|${labelSet.key}`;
    this.#totalCount += count;
    const existing = this.#samples.get(key);
    if (existing !== undefined) {
      existing.value[0] = Number(existing.value[0]) + count * this.#periodNs;
      existing.value[1] = Number(existing.value[1]) + count;
      return;
    }
    this.#samples.set(
      key,
      new Sample({
        locationId: locationIds,
        value: [count * this.#periodNs, count],
        label: labelSet.labels,
      }),
    );
  }

  /** The key and pprof labels of a label list, derived once per list (callers reuse theirs). */
  #labelSet(labels: ReadonlyArray<readonly [string, string]>): LabelSet {
    let set = this.#labelSets.get(labels);
    if (set === undefined) {
      set = {
        key: labels.map(([k, v]) => `${k}=${v}`).join('\0'),
        labels: labels.filter(([, v]) => v !== '').map(([k, v]) => new Label({ key: this.#strings.dedup(k), str: this.#strings.dedup(v) })),
      };
      this.#labelSets.set(labels, set);
    }
    return set;
  }

  profile(startMs: number, endMs: number): Profile {
    const s = this.#strings;
    return new Profile({
      sampleType: [
        new ValueType({ type: s.dedup('cpu'), unit: s.dedup('nanoseconds') }),
        new ValueType({ type: s.dedup('samples'), unit: s.dedup('count') }),
      ],
      periodType: new ValueType({ type: s.dedup('cpu'), unit: s.dedup('nanoseconds') }),
      period: this.#periodNs,
      defaultSampleType: s.dedup('cpu'),
      timeNanos: BigInt(Math.round(startMs)) * 1_000_000n,
      durationNanos: BigInt(Math.round(endMs - startMs)) * 1_000_000n,
      sample: [...this.#samples.values()],
      mapping: [...this.#mappings.values()],
      location: this.#locations,
      function: [...this.#functions.values()],
      stringTable: s,
    });
  }

  /** The gzipped pprof encoding. */
  async encode(startMs: number, endMs: number): Promise<Buffer> {
    return gzipAsync(encodeProfile(this.profile(startMs, endMs)));
  }
}
