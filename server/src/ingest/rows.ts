// Turns one upload into rows for the profile tables: sample rows, plus the functions, stacks and
// series that storage does not have yet.
import { hash64, stackHashOf, type Catalog, type FunctionId, type FunctionInfo, type StackId } from '../catalog.js';
import { checkLabels } from './labels.js';
import { IngestError, type IngestLimits } from './limits.js';
import { tsvEscape, TsvWriter } from './tsv.js';

export interface SeriesRow {
  profile_type: string;
  unit: string;
  service: string;
  series_fp: string;
  hour: number;
  labels: Record<string, string>;
}

export interface ProfileRow {
  id: string;
  /** Unix seconds with milliseconds, as text ("1700000000.123"): DateTime64(3) reads a JSON number as milliseconds. */
  time: string;
  until: string;
  service: string;
  labels: Record<string, string>;
  profile_types: string[];
  series_fps: string[];
  format: string;
  spy_name: string;
  sample_rate: number;
  samples: number;
  size: number;
}

/** What one upload adds to storage. */
export interface UploadRows {
  samples: SampleRows;
  /** Stacks storage may not have today: hash → its entry and function ids, root first. */
  stacks: Map<string, { entry: StackId; frames: readonly string[] }>;
  /** Functions storage may not have today, by id. */
  functions: Map<string, FunctionId>;
  series: SeriesRow[];
  profile: ProfileRow;
  /** The upload as it came (stored for export and "one profile as uploaded"). */
  payload: Buffer;
  /** Sum of values per profile type, for metrics and tests. */
  totals: Map<string, number>;
  truncatedStacks: number;
}

export interface SeriesRef {
  fp: string;
  service: string;
  /** TSV-escaped service. */
  serviceTsv: string;
  labels: ReadonlyMap<string, string>;
  /** Per sample type of the upload: its SampleRows prefix, once the series has a row of that type (-1: none yet). */
  prefixes: number[];
}

export interface SampleType {
  name: string;
  unit: string;
}

/**
 * An upload's rows of kiln_samples (profile_type, service, series_fp, time, stack_hash, value,
 * span_id, trace_id), kept as a few numbers and shared strings each until the insert writes them
 * as TSV: a row is neither a string of its own nor garbage to collect.
 */
export class SampleRows {
  length = 0;
  /** Each row's start (profile type, service, series, time), end (span and trace ids) and stack. */
  #prefix = new Int32Array(64);
  #end = new Int32Array(64);
  #value = new Float64Array(64);
  readonly #stack: string[] = [];
  readonly #prefixes: Buffer[] = [];
  readonly #ends: Buffer[] = [Buffer.from('\t0\t0\n')];
  #endIndex: Map<string, number> | undefined;

  /** A row start, the TSV fields before the stack hash: its index for `push`. */
  addPrefix(fields: string): number {
    this.#prefixes.push(Buffer.from(fields));
    return this.#prefixes.length - 1;
  }

  push(prefix: number, stackHash: string, value: number, spanId: string, traceId: string): void {
    if (this.length === this.#value.length) {
      this.#prefix = grow(this.#prefix, new Int32Array(2 * this.length));
      this.#end = grow(this.#end, new Int32Array(2 * this.length));
      this.#value = grow(this.#value, new Float64Array(2 * this.length));
    }
    const i = this.length++;
    this.#prefix[i] = prefix;
    this.#stack.push(stackHash);
    this.#value[i] = Math.round(value);
    this.#end[i] = spanId === '0' && traceId === '0' ? 0 : this.#endOf(`\t${spanId}\t${traceId}\n`);
  }

  #endOf(end: string): number {
    this.#endIndex ??= new Map();
    let i = this.#endIndex.get(end);
    if (i === undefined) {
      this.#endIndex.set(end, (i = this.#ends.length));
      this.#ends.push(Buffer.from(end));
    }
    return i;
  }

  stackHash(i: number): string {
    return this.#stack[i]!;
  }

  value(i: number): number {
    return this.#value[i]!;
  }

  writeTsv(w: TsvWriter): void {
    for (let i = 0; i < this.length; i++) {
      w.bytes(this.#prefixes[this.#prefix[i]!]!);
      w.ascii(this.#stack[i]!);
      w.tab();
      w.integer(this.#value[i]!);
      w.bytes(this.#ends[this.#end[i]!]!);
    }
  }
}

function grow<A extends Int32Array | Float64Array>(from: A, to: A): A {
  to.set(from);
  return to;
}
const TRUNCATED: FunctionInfo = { name: '[truncated]', systemName: '', filename: '', startLine: 0, binary: '' };

export class UploadBuilder {
  readonly rows: UploadRows;
  readonly #series = new Map<string, SeriesRef>();
  readonly #typeUsed: boolean[];
  readonly #totals: Float64Array;
  readonly #typesTsv: string[];
  readonly #timeS: number;
  readonly #hour: number;
  readonly #day: number;
  #sampleCount = 0;

  constructor(
    readonly catalog: Catalog,
    readonly limits: IngestLimits,
    readonly types: readonly SampleType[],
    opts: {
      fromMs: number;
      untilMs: number;
      format: string;
      spyName: string;
      sampleRate: number;
      nameLabels: ReadonlyMap<string, string>;
      id: string;
    },
  ) {
    checkProfileTime(opts.fromMs, 'start (from)');
    checkProfileTime(opts.untilMs, 'end (until)');
    this.#timeS = Math.floor(opts.fromMs / 1000);
    this.#hour = this.#timeS - (this.#timeS % 3600);
    this.#day = Math.floor(this.#timeS / 86_400);
    this.#typesTsv = types.map((t) => tsvEscape(t.name));
    this.#typeUsed = types.map(() => false);
    this.#totals = new Float64Array(types.length);
    this.rows = {
      samples: new SampleRows(),
      stacks: new Map(),
      functions: new Map(),
      series: [],
      totals: new Map(types.map((t) => [t.name, 0])),
      truncatedStacks: 0,
      profile: {
        id: opts.id,
        time: (opts.fromMs / 1000).toFixed(3),
        until: (opts.untilMs / 1000).toFixed(3),
        service: opts.nameLabels.get('service') ?? '',
        labels: Object.fromEntries(opts.nameLabels),
        profile_types: types.map((t) => t.name),
        series_fps: [],
        format: opts.format,
        spy_name: opts.spyName,
        sample_rate: opts.sampleRate,
        samples: 0,
        size: 0,
      },
      payload: Buffer.alloc(0),
    };
  }

  /** The series of a label set (validated against the limits; `service` must be present). */
  series(labels: ReadonlyMap<string, string>): SeriesRef {
    const sorted = [...labels].filter(([, v]) => v !== '').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = sorted.map(([k, v]) => `${k}\0${v}`).join('\0');
    let ref = this.#series.get(key);
    if (ref === undefined) {
      const clean = new Map(sorted);
      checkLabels(clean, this.limits);
      const service = clean.get('service') ?? '';
      ref = { fp: hash64(key), service, serviceTsv: tsvEscape(service), labels: clean, prefixes: this.types.map(() => -1) };
      this.#series.set(key, ref);
      this.rows.profile.series_fps.push(ref.fp);
    }
    return ref;
  }

  /** A function id, recording the function for writing if storage may not have it today. */
  fn(info: FunctionInfo): FunctionId {
    return this.fnOf(info.name, info.systemName, info.filename, info.startLine, info.binary);
  }

  fnOf(name: string, systemName: string, filename: string, startLine = 0, binary = ''): FunctionId {
    const id = this.catalog.functionIdOf(name, systemName, filename, startLine, binary);
    if (id.written !== this.#day) this.rows.functions.set(id.id, id);
    return id;
  }

  /** Records a function found without `fnOf` as `fnOf` does. */
  useFunction(id: FunctionId): void {
    if (id.written !== this.#day) this.rows.functions.set(id.id, id);
  }

  /**
   * The hash (unsigned decimal) of a stack of function ids given LEAF FIRST (pprof order); stacks
   * deeper than the limit keep their leaf-most frames under a `[truncated]` root.
   */
  stack(leafFirst: FunctionId[]): string {
    let frames = leafFirst;
    if (frames.length > this.limits.maxStackDepth) {
      frames = frames.slice(0, this.limits.maxStackDepth - 1);
      frames.push(this.fn(TRUNCATED));
      this.rows.truncatedStacks++;
    }
    const h = stackHashOf(frames, true);
    const e = this.catalog.stackId(h.hi, h.lo);
    if (this.needsStack(e)) {
      const rootFirst = new Array<string>(frames.length);
      for (let i = 0; i < frames.length; i++) rootFirst[i] = frames[frames.length - 1 - i]!.id;
      this.addStack(e, rootFirst);
    }
    return e.id;
  }

  /** Whether the rows must carry stack `e` (storage may not have it today, and no row has it yet). */
  needsStack(e: StackId): boolean {
    return e.written !== this.#day && !this.rows.stacks.has(e.id);
  }

  /** Records stack `e` (function ids root first) for writing. */
  addStack(e: StackId, rootFirst: string[]): void {
    this.catalog.stacks.set(e.id, rootFirst);
    this.rows.stacks.set(e.id, { entry: e, frames: rootFirst });
  }

  /** Counts one input sample against the per-profile limit. */
  countSample(): void {
    if (++this.#sampleCount > this.limits.maxSamplesPerProfile) {
      throw new IngestError(400, `the profile has more than ${this.limits.maxSamplesPerProfile} samples (limit)`, 'too_many_samples');
    }
  }

  /** One sample row: `typeIndex` into the upload's sample types. */
  add(typeIndex: number, series: SeriesRef, stackHash: string, value: number, spanId = '0', traceId = '0'): void {
    if (value === 0) return;
    if (!(Math.abs(value) < 2 ** 63)) {
      throw new IngestError(
        400,
        `a sample value (${value} ${this.types[typeIndex]!.unit}) is outside the signed 64-bit range storage holds`,
        'bad_value',
      );
    }
    let prefix = series.prefixes[typeIndex]!;
    if (prefix < 0) {
      const type = this.types[typeIndex]!;
      this.#typeUsed[typeIndex] = true;
      if (!this.catalog.seriesWritten.has(`${type.name}|${series.fp}|${this.#hour}`)) {
        this.rows.series.push({
          profile_type: type.name,
          unit: type.unit,
          service: series.service,
          series_fp: series.fp,
          hour: this.#hour,
          labels: Object.fromEntries(series.labels),
        });
      }
      prefix = series.prefixes[typeIndex] = this.rows.samples.addPrefix(
        `${this.#typesTsv[typeIndex]}\t${series.serviceTsv}\t${series.fp}\t${this.#timeS}\t`,
      );
    }
    this.rows.samples.push(prefix, stackHash, value, spanId, traceId);
    this.#totals[typeIndex]! += value;
  }

  finish(payload: Buffer): UploadRows {
    this.rows.profile.samples = this.#sampleCount;
    this.rows.profile.size = payload.length;
    this.rows.payload = payload;
    this.rows.profile.profile_types = this.types.map((t) => t.name).filter((_, i) => this.rows.samples.length === 0 || this.#typeUsed[i]);
    this.types.forEach((t, i) => this.rows.totals.set(t.name, this.#totals[i]!));
    return this.rows;
  }

  /** Marks what this upload wrote as present in storage (after its insert succeeded). */
  static markWritten(catalog: Catalog, rows: UploadRows): void {
    const day = dayOf(rows);
    for (const f of rows.functions.values()) f.written = day;
    for (const s of rows.stacks.values()) s.entry.written = day;
    for (const s of rows.series) {
      catalog.seriesWritten.set(`${s.profile_type}|${s.series_fp}|${s.hour}`, true);
      catalog.units.set(s.profile_type, s.unit);
    }
  }
}

// What storage's DateTime columns hold, rounded in: a profile outside is a client mistake, never
// an insert that fails (with every upload that shares it).
const EARLIEST_MS = Date.UTC(2000, 0, 1);
const LATEST_MS = Date.UTC(2106, 0, 1);

function checkProfileTime(ms: number, what: string): void {
  if (!(ms >= EARLIEST_MS && ms < LATEST_MS)) {
    const shown = Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
    throw new IngestError(
      400,
      `the profile's ${what} (${shown}) is outside 2000-01-01 .. 2105-12-31: send from/until (or timeNanos) in unix seconds, milliseconds or RFC 3339`,
      'bad_time',
    );
  }
}

function dayOf(rows: UploadRows): number {
  return Math.floor(Number(rows.profile.time) / 86_400);
}
