// Spans (kiln_spans): stored from OTLP requests, read back as the slowest spans of a selection or
// as every span of one trace.
import type { ClickHouseClient } from '@clickhouse/client';
import type { Span, SpanSummary } from '@kiln/api/http';
import type { SpanRow } from '../ingest/otlp.js';
import { T } from '../storage/tables.js';
import type { Selector } from './selector.js';
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

export interface SlowestSpansFilter {
  selector: Selector;
  range: TimeRange;
  minDurationNs: number;
  limit: number;
}

/** The slowest spans of the selection that started in the range, slowest first. */
export async function slowestSpans(client: ClickHouseClient, f: SlowestSpansFilter): Promise<SpanSummary[]> {
  const p = new Params();
  // The selector's profile type means nothing for spans: only its matchers apply.
  const conds = [
    `start_time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(f.range.fromMs))}))`,
    `start_time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(f.range.untilMs))}))`,
    ...f.selector.matchers.map((m) =>
      labelCondition(m.name === 'service' ? 'service' : `resource_attributes[${p.add('String', m.name)}]`, m, p),
    ),
  ];
  if (f.minDurationNs > 0) conds.push(`duration_ns >= ${p.add('UInt64', f.minDurationNs)}`);
  const rs = await client.query({
    query: `SELECT ${SUMMARY_COLUMNS} FROM ${T.spans} WHERE ${conds.join(' AND ')}
     ORDER BY duration_ns DESC, start_time LIMIT ${p.add('UInt32', f.limit)}`,
    query_params: p.values,
    format: 'JSONEachRow',
  });
  return (await rs.json<SummaryRow>()).map(summary);
}

/** Every stored span of one trace by start time; empty when the trace is unknown. */
export async function traceSpans(client: ClickHouseClient, traceId: string): Promise<Span[]> {
  const p = new Params();
  const rs = await client.query({
    query: `SELECT ${SUMMARY_COLUMNS}, resource_attributes, span_attributes FROM ${T.spans}
     WHERE trace_id = ${p.add('String', traceId)} ORDER BY start_time, span_id`,
    query_params: p.values,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<SummaryRow & { resource_attributes: Record<string, string>; span_attributes: Record<string, string> }>();
  return rows.map((r) => ({ ...summary(r), resourceAttributes: r.resource_attributes, attributes: r.span_attributes }));
}

const SUMMARY_COLUMNS = `trace_id, span_id, parent_span_id, name, kind, service,
  toUnixTimestamp64Nano(start_time) / 1e6 AS start_ms, duration_ns, status_code, status_message, source`;

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
}

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
    // Samples are stamped with the span that was running when they were taken only by eBPF spans
    // (the agent's span map); an SDK span's samples cannot be told from the thread's other work.
    cpuSamples: 0,
  };
}
