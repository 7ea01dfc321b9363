// The query side: selections aggregated by stack in ClickHouse, then resolved and shaped in TS.
import type { ClickHouseClient } from '@clickhouse/client';
import type { DiffResponse, FlamegraphResponse, ProfileMetadata } from '@kiln/api/http';
import type { Catalog, FrameInfo, FunctionInfo } from '../catalog.js';
import { T } from '../storage/tables.js';
import { resolveFunctions, resolveStacks } from './resolve.js';
import type { Selector } from './selector.js';
import { Params, samplesWhere, seconds, seriesLabelConditions, type SqlContext, type StampedBy } from './sql.js';
import type { TimeRange } from './time.js';
import { NameOrder, renderFlamebearer, type FrameSources, type FunctionChange, type RenderResult } from '@kiln/api/flamebearer';
import { functionChanges } from '@kiln/api/flamebearer/changes';

export interface Selection {
  selector: Selector;
  range: TimeRange;
  /** Only the samples stamped with these spans. */
  stampedBy?: StampedBy;
}

/** Sample totals per time bucket, one group per value of the groupBy label (one group without it). */
export interface SeriesBuckets {
  /** firstS/lastS: unix s of the start of the first and last profile holding samples of the group. */
  groups: { labels: Record<string, string>; values: Float64Array; firstS: number; lastS: number }[];
  buckets: number;
  startS: number;
}

/** How the UI names a pprof unit. */
export function unitsOf(profileType: string, unit: string): string {
  if (unit === 'nanoseconds') return 'nanoseconds';
  if (unit === 'bytes') return 'bytes';
  if (unit === 'count') return /objects/.test(profileType) ? 'objects' : 'samples';
  return unit || 'samples';
}

export type FlameResult = RenderResult & { frames: FrameSources };

/** Where each output frame comes from (the API's `metadata.frames`), parallel to `flamebearer.names`. */
function withFrames(r: RenderResult, frames: readonly FrameInfo[]): FlameResult {
  const out: FrameSources = { files: [], lines: [], binaries: [] };
  for (const i of r.nameSource) {
    const f = i < 0 ? undefined : frames[i];
    out.files.push(f?.file ?? '');
    out.lines.push(f?.line ?? 0);
    out.binaries.push(f?.binary ?? '');
  }
  return { ...r, frames: out };
}

/** The body of a flame graph answer. */
export function flamegraphBody(r: FlameResult, meta: ProfileMetadata, maxNodes: number): FlamegraphResponse {
  return {
    flamebearer: r.flamebearer,
    metadata: { ...meta, format: 'single' as const, truncated: r.truncated, maxNodes, frames: r.frames },
  };
}

/** The body of a diff answer. */
export function diffBody(r: FlameResult & { changes: FunctionChange[] }, meta: ProfileMetadata, maxNodes: number): DiffResponse {
  return {
    flamebearer: { ...r.flamebearer, leftTicks: r.leftTicks, rightTicks: r.rightTicks },
    metadata: { ...meta, format: 'double' as const, truncated: r.truncated, maxNodes, frames: r.frames, changes: r.changes },
    leftTicks: r.leftTicks,
    rightTicks: r.rightTicks,
  };
}

export class QueryEngine {
  /** Sibling order of the catalog's names, kept between queries. */
  readonly #order = new NameOrder();

  constructor(
    readonly client: ClickHouseClient,
    readonly catalog: Catalog,
    readonly ctx: SqlContext,
  ) {}

  async #tsv(query: string, params: Params): Promise<string> {
    const rs = await this.client.query({ query, query_params: params.values, format: 'TabSeparated' });
    return rs.text();
  }

  async json<T>(query: string, params: Params): Promise<T[]> {
    const rs = await this.client.query({
      query,
      query_params: params.values,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    return rs.json<T>();
  }

  /** The unit of a profile type (from ingest, else from storage; `cpu` defaults to nanoseconds). */
  async unit(profileType: string): Promise<string> {
    const known = this.catalog.units.get(profileType);
    if (known !== undefined) return known;
    const p = new Params();
    const rows = await this.json<{ unit: string }>(
      `SELECT unit FROM ${T.series} WHERE profile_type = ${p.add('String', profileType)} LIMIT 1`,
      p,
    );
    const unit = rows[0]?.unit ?? (profileType === 'cpu' || profileType === 'wall' ? 'nanoseconds' : 'count');
    if (rows[0] !== undefined) this.catalog.units.set(profileType, unit);
    return unit;
  }

  async metadata(profileType: string): Promise<ProfileMetadata> {
    const unit = await this.unit(profileType);
    return { name: profileType, units: unitsOf(profileType, unit), unit };
  }

  /** Sum of values per stack hash for one selection: the `GROUP BY stack` query. */
  async stackTotals(sel: Selection): Promise<{ hashes: string[]; values: Float64Array }> {
    const p = new Params();
    const text = await this.#tsv(
      `SELECT stack_hash, sum(value) FROM ${T.samples} WHERE ${samplesWhere(sel.selector, sel.range, p, this.ctx, sel.stampedBy)} GROUP BY stack_hash`,
      p,
    );
    const { keys, cols } = parseTsvNumbers(text, 1);
    return { hashes: keys, values: cols[0]! };
  }

  /** Both sides of a diff in one scan. */
  async stackTotals2(left: Selection, right: Selection): Promise<{ hashes: string[]; left: Float64Array; right: Float64Array }> {
    const p = new Params();
    const l = samplesWhere(left.selector, left.range, p, this.ctx, left.stampedBy);
    const r = samplesWhere(right.selector, right.range, p, this.ctx, right.stampedBy);
    const text = await this.#tsv(
      `SELECT stack_hash, sumIf(value, ${l}) AS l, sumIf(value, ${r}) AS r FROM ${T.samples} WHERE (${l}) OR (${r}) GROUP BY stack_hash`,
      p,
    );
    const { keys, cols } = parseTsvNumbers(text, 2);
    return { hashes: keys, left: cols[0]!, right: cols[1]! };
  }

  /**
   * Each stack's frame names (root first) as indices into the returned `names`, from the
   * catalog; stacks it does not hold are read from storage once and kept.
   */
  async stackSeqs(hashes: readonly string[]): Promise<{ names: readonly string[]; frames: readonly FrameInfo[]; seqs: Int32Array[] }> {
    for (;;) {
      const { catalog } = this;
      const names = catalog.names;
      const frames = catalog.nameFrames;
      const table = catalog.stackNames;
      const seqs = new Array<Int32Array>(hashes.length);
      const missing: number[] = [];
      for (let i = 0; i < hashes.length; i++) {
        const seq = table.get(hashes[i]!);
        if (seq === undefined) missing.push(i);
        else seqs[i] = seq;
      }
      if (missing.length > 0) {
        const stacks = await resolveStacks(
          this.client,
          catalog,
          missing.map((i) => hashes[i]!),
        );
        const ids = new Set<string>();
        for (const frames of stacks.values()) for (const f of frames) ids.add(f);
        const fns = await resolveFunctions(this.client, catalog, ids);
        // The name table was replaced while we waited: start again on the new one.
        if (catalog.names !== names) continue;
        const nameOfId = new Map<string, number>();
        for (const [id, f] of fns) nameOfId.set(id, catalog.internName(f.name, f));
        if (catalog.names !== names) continue;
        for (const i of missing) {
          const h = hashes[i]!;
          const frames = stacks.get(h);
          const seq =
            frames === undefined ? Int32Array.of(catalog.internName('[unknown stack]')) : Int32Array.from(frames, (f) => nameOfId.get(f)!);
          if (catalog.names !== names) break;
          if (frames !== undefined) table.set(h, seq);
          seqs[i] = seq;
        }
        if (catalog.names !== names) continue;
      }
      return { names, frames, seqs };
    }
  }

  async flamegraph(sel: Selection, maxNodes: number): Promise<FlameResult> {
    const { hashes, values } = await this.stackTotals(sel);
    const { names, frames, seqs } = await this.stackSeqs(hashes);
    return withFrames(renderFlamebearer(names, { seqs, left: values }, maxNodes, false, this.#order), frames);
  }

  /** A differential flame graph and its per-function changes, both from every stack (changes: at most maxNodes). */
  async diff(left: Selection, right: Selection, maxNodes: number): Promise<FlameResult & { changes: FunctionChange[] }> {
    const t = await this.stackTotals2(left, right);
    const { names, frames, seqs } = await this.stackSeqs(t.hashes);
    return {
      ...withFrames(renderFlamebearer(names, { seqs, left: t.left, right: t.right }, maxNodes, true, this.#order), frames),
      changes: functionChanges(names, seqs, t.left, t.right, maxNodes),
    };
  }

  /** Per (series, stack) totals with the series labels and each stack's functions: what a pprof export needs. */
  async exportRows(sel: Selection): Promise<{ rows: { labels: Record<string, string>; frames: FunctionInfo[]; value: number }[] }> {
    const p = new Params();
    const text = await this.#tsv(
      `SELECT series_fp, stack_hash, sum(value) FROM ${T.samples} WHERE ${samplesWhere(sel.selector, sel.range, p, this.ctx, sel.stampedBy)} GROUP BY series_fp, stack_hash`,
      p,
    );
    const fps: string[] = [];
    const hashes: string[] = [];
    const values: number[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [fp, h, v] = line.split('\t');
      fps.push(fp!);
      hashes.push(h!);
      values.push(Number(v));
    }
    const labels = await this.seriesLabels(sel, [...new Set(fps)]);
    const stacks = await resolveStacks(this.client, this.catalog, new Set(hashes));
    const ids = new Set<string>();
    for (const frames of stacks.values()) for (const f of frames) ids.add(f);
    const fns = await resolveFunctions(this.client, this.catalog, ids);
    return {
      rows: hashes.map((h, i) => ({
        labels: labels.get(fps[i]!) ?? {},
        frames: (stacks.get(h) ?? []).map((f) => fns.get(f)!),
        value: values[i]!,
      })),
    };
  }

  /** Labels of series fingerprints. */
  async seriesLabels(sel: Selection, fps: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (let i = 0; i < fps.length; i += 4000) {
      const p = new Params();
      const s = seconds(sel.range);
      const rows = await this.json<{ fp: string; labels: Record<string, string> }>(
        `SELECT toString(series_fp) AS fp, any(labels) AS labels FROM ${T.series}
         WHERE series_fp IN ${p.add('Array(UInt64)', `[${fps.slice(i, i + 4000).join(',')}]`)}
           AND hour >= toStartOfHour(toDateTime(${p.add('UInt32', s.from)})) AND hour < toDateTime(${p.add('UInt32', s.until)})
         GROUP BY series_fp`,
        p,
      );
      for (const r of rows) out.set(r.fp, r.labels);
    }
    return out;
  }

  /**
   * Totals over time, optionally one series per value of a label; with each series' first and
   * last sample time (unix s: the start of the first and last profile holding it).
   */
  async series(sel: Selection, stepS: number, groupBy: string | undefined): Promise<SeriesBuckets> {
    const s = seconds(sel.range);
    const startS = s.from - (s.from % stepS);
    const buckets = Math.ceil((s.until - startS) / stepS);
    const p = new Params();
    const bucket = `intDiv(toUInt32(time) - ${p.add('UInt32', startS)}, ${p.add('UInt32', stepS)})`;
    const where = samplesWhere(sel.selector, sel.range, p, this.ctx, sel.stampedBy);
    const fp = groupBy === undefined ? '0' : 'series_fp';
    const text = await this.#tsv(
      `SELECT ${bucket} AS b, ${fp} AS fp, sum(value), toUInt32(min(time)), toUInt32(max(time)) FROM ${T.samples} WHERE ${where} GROUP BY b, fp`,
      p,
    );
    const rows = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'));
    const labels =
      groupBy === undefined
        ? new Map<string, Record<string, string>>()
        : await this.seriesLabels(sel, [...new Set(rows.map((r) => r[1]!))]);
    const groups = new Map<string, { values: Float64Array; firstS: number; lastS: number }>();
    for (const [b, f, v, first, last] of rows) {
      const key = groupBy === undefined ? '' : (labels.get(f!)?.[groupBy] ?? '');
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { values: new Float64Array(buckets), firstS: Infinity, lastS: -Infinity }));
      g.values[Number(b)]! += Number(v);
      g.firstS = Math.min(g.firstS, Number(first));
      g.lastS = Math.max(g.lastS, Number(last));
    }
    if (groupBy === undefined) {
      const g = groups.get('') ?? { values: new Float64Array(buckets), firstS: NaN, lastS: NaN };
      return { groups: [{ labels: {}, ...g }], buckets, startS };
    }
    return {
      groups: [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, g]) => ({ labels: { [groupBy]: k }, ...g })),
      buckets,
      startS,
    };
  }

  /** Conditions on kiln_series for label listings: time, and the selector when one was given. */
  seriesWhere(sel: Selector | undefined, range: TimeRange, p: Params): string {
    const s = seconds(range);
    const conds = [`hour >= toStartOfHour(toDateTime(${p.add('UInt32', s.from)}))`, `hour < toDateTime(${p.add('UInt32', s.until)})`];
    if (sel !== undefined) {
      conds.push(`profile_type = ${p.add('String', sel.profileType)}`);
      conds.push(...seriesLabelConditions(sel, p));
    }
    return conds.join(' AND ');
  }
}

/** `key\tn1\tn2…` lines → keys and numeric columns. */
function parseTsvNumbers(text: string, ncols: number): { keys: string[]; cols: Float64Array[] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const keys = new Array<string>(lines.length);
  const cols = Array.from({ length: ncols }, () => new Float64Array(lines.length));
  for (let i = 0; i < lines.length; i++) {
    const parts = lines[i]!.split('\t');
    keys[i] = parts[0]!;
    for (let c = 0; c < ncols; c++) cols[c]![i] = Number(parts[c + 1]);
  }
  return { keys, cols };
}
