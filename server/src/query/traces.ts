// Spans (kiln_spans): stored from OTLP requests and agent batches, read back as the slowest spans
// of a selection, every span of one trace or one span, each with its CPU sample count.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Span, SpanBreakdown, SpanSummary } from '@kiln/api/http';
import { BREAKDOWN_ATTRIBUTES } from '../ingest/agent-spans.js';
import type { SpanRow } from '../ingest/otlp.js';
import { T } from '../storage/tables.js';
import type { QueryEngine } from './engine.js';
import type { Selector } from './selector.js';
import { cpuSampleCounts, type SpanRef } from './span-samples.js';
import { labelCondition, Params } from './sql.js';
import type { TimeRange } from './time.js';

/**
 * Resolves once the spans are stored. SDKs export small batches every few seconds from every
 * process, so storage gathers them into fewer parts (async insert) and answers when the part
 * holding them is written.
 */
export async function storeSpans(client: ClickHouseClient, rows: SpanRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({
    table: T.spans,
    format: 'JSONEachRow',
    values: rows,
    clickhouse_settings: { async_insert: 1, wait_for_async_insert: 1 },
  });
}

/** Which spans: the filters of the traces list, the heatmap and the comparison. */
export interface SpanFilter {
  selector: Selector;
  range: TimeRange;
  minDurationNs: number;
  /** The span name, exactly. */
  name?: string;
  status?: string;
}

/** WHERE conditions on kiln_spans for a filter. */
export function spanConditions(f: SpanFilter, p: Params): string {
  // The selector's profile type means nothing for spans: only its matchers apply.
  const conds = [
    `start_time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(f.range.fromMs))}))`,
    `start_time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(f.range.untilMs))}))`,
    ...f.selector.matchers.map((m) =>
      labelCondition(m.name === 'service' ? 'service' : `resource_attributes[${p.add('String', m.name)}]`, m, p),
    ),
  ];
  if (f.minDurationNs > 0) conds.push(`duration_ns >= ${p.add('UInt64', f.minDurationNs)}`);
  if (f.name !== undefined) conds.push(`name = ${p.add('String', f.name)}`);
  if (f.status !== undefined) conds.push(`status_code = ${p.add('String', f.status)}`);
  return conds.join(' AND ');
}

/** The slowest spans of the filter that started in the range, slowest first. */
export async function slowestSpans(engine: QueryEngine, f: SpanFilter, limit: number): Promise<SpanSummary[]> {
  const p = new Params();
  const rows = await engine.json<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM ${T.spans} WHERE ${spanConditions(f, p)}
     ORDER BY duration_ns DESC, start_time LIMIT ${p.add('UInt32', limit)}`,
    p,
  );
  return withSampleCounts(engine, rows, summary);
}

/** Every stored span of one trace by start time; empty when the trace is unknown. */
export async function traceSpans(engine: QueryEngine, traceId: string): Promise<Span[]> {
  const p = new Params();
  const rows = await engine.json<SpanDetailRow>(
    `SELECT ${SUMMARY_COLUMNS}, resource_attributes, span_attributes FROM ${T.spans}
     WHERE trace_id = ${p.add('String', traceId)} ORDER BY start_time, span_id`,
    p,
  );
  return withSampleCounts(engine, rows, (r) => ({
    ...summary(r),
    resourceAttributes: r.resource_attributes,
    ...attributesAndBreakdown(r),
  }));
}

/**
 * A span's attributes, and its breakdown when the agent stored one (as the attributes
 * BREAKDOWN_ATTRIBUTES names, all five): those are answered as `breakdown`, not repeated in
 * `attributes`. Only agent spans: an SDK span's attributes are its own, whatever their names.
 */
function attributesAndBreakdown(r: SpanDetailRow): { attributes: Record<string, string>; breakdown?: SpanBreakdown } {
  const attributes = r.span_attributes;
  if (r.source !== 'ebpf') return { attributes };
  const entries = Object.entries(BREAKDOWN_ATTRIBUTES) as [keyof SpanBreakdown, string][];
  if (!entries.every(([, name]) => /^[0-9]{1,16}$/.test(attributes[name] ?? ''))) return { attributes };
  const rest = { ...attributes };
  const breakdown = {} as SpanBreakdown;
  for (const [field, name] of entries) {
    breakdown[field] = Number(attributes[name]);
    delete rest[name];
  }
  return { attributes: rest, breakdown };
}

/** One span by its id (the first stored, should an agent have sent it twice); undefined when unknown. */
export async function spanById(engine: QueryEngine, spanId: string): Promise<SpanRef | undefined> {
  const p = new Params();
  const [row] = await engine.json<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM ${T.spans} WHERE span_id = ${p.add('String', spanId)} ORDER BY start_time LIMIT 1`,
    p,
  );
  return row === undefined ? undefined : spanRef(row);
}

/** The spans of `WHERE where tail` (tail: ORDER BY, LIMIT), as references to their samples. */
export async function spanRefs(engine: QueryEngine, where: string, tail: string, p: Params): Promise<SpanRef[]> {
  return (await engine.json<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM ${T.spans} WHERE ${where} ${tail}`, p)).map(spanRef);
}

async function withSampleCounts<R extends SummaryRow, S extends SpanSummary>(
  engine: QueryEngine,
  rows: R[],
  shape: (r: R) => S,
): Promise<S[]> {
  const counts = await cpuSampleCounts(engine, rows.map(spanRef));
  return rows.map((r, i) => ({ ...shape(r), cpuSamples: counts[i]! }));
}

const SUMMARY_COLUMNS = `trace_id, span_id, parent_span_id, name, kind, service,
  toUnixTimestamp64Nano(start_time) / 1e6 AS start_ms, duration_ns, status_code, status_message, source,
  span_attributes['kiln.stamps'] AS stamps`;

// 64-bit integers arrive as strings in JSON.
interface SummaryRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  service: string;
  start_ms: number;
  duration_ns: string;
  status_code: string;
  status_message: string;
  source: string;
  stamps: string;
}

type SpanDetailRow = SummaryRow & { resource_attributes: Record<string, string>; span_attributes: Record<string, string> };

function spanRef(r: SummaryRow): SpanRef {
  return { spanId: r.span_id, service: r.service, startMs: r.start_ms, durationNs: Number(r.duration_ns), stamps: r.stamps };
}

/** The summary of a row, its sample count still 0. */
function summary(r: SummaryRow): SpanSummary {
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    name: r.name,
    kind: r.kind,
    service: r.service,
    start: r.start_ms,
    durationNs: Number(r.duration_ns),
    status: r.status_code,
    statusMessage: r.status_message,
    source: r.source,
    cpuSamples: 0,
  };
}
