// The agent's span batches (POST /api/v1/ingest/spans): msgpack AgentSpanBatch → span rows. Each
// span is checked on its own, so one bad span costs only itself.
import type { AgentSpan, SpanBreakdown } from '@kiln/api/http';
import { collectRows, hexId, isInteger, stringRecord, unixNanoTime, unpackBatch, type DecodedRecords } from './agent-batch.js';
import type { SpanRow } from './otlp.js';

export type DecodedAgentSpans = DecodedRecords<SpanRow>;

const KINDS = new Set(['server', 'client']);
const STATUSES = new Set(['unset', 'ok', 'error']);

/**
 * Where a span's breakdown is stored: span attributes, so a breakdown needs no column (most spans,
 * every SDK span among them, have none). Read back by spanBreakdown in query/traces.ts.
 */
export const BREAKDOWN_ATTRIBUTES: Readonly<Record<keyof SpanBreakdown, string>> = {
  onCpuNs: 'kiln.oncpu_ns',
  runQueueNs: 'kiln.runqueue_ns',
  throttledNs: 'kiln.throttled_ns',
  offCpuNs: 'kiln.offcpu_ns',
  retransmits: 'kiln.retransmits',
};

/** Decodes a whole batch; a body that is not one is a 400, an invalid span is counted as rejected. */
export function decodeAgentSpans(body: Buffer): DecodedAgentSpans {
  const { spans } = unpackBatch(body, ['spans'], 'a span batch');
  const out: DecodedAgentSpans = { rows: [], rejected: 0, rejectReason: '' };
  collectRows(out, spans, 'span', spanRow);
  return out;
}

/** A stored row, or why the span is not one. */
function spanRow(value: unknown): SpanRow | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a map';
  const s = value as Partial<Record<keyof AgentSpan, unknown>>;
  const traceId = hexId(s.traceId, 32);
  const spanId = hexId(s.spanId, 16);
  if (traceId === undefined) return 'traceId is not 32 hex digits, not all zero';
  if (spanId === undefined) return 'spanId is not 16 hex digits, not all zero';
  const parent = s.parentSpanId === '' ? '' : hexId(s.parentSpanId, 16);
  if (parent === undefined) return 'parentSpanId is neither empty nor 16 hex digits';
  if (typeof s.name !== 'string') return 'name is not a string';
  if (typeof s.kind !== 'string' || !KINDS.has(s.kind)) return 'kind is not server or client';
  if (typeof s.status !== 'string' || !STATUSES.has(s.status)) return 'status is not unset, ok or error';
  if (typeof s.statusMessage !== 'string') return 'statusMessage is not a string';
  const start = unixNanoTime(s.startUnixNano, 'startUnixNano');
  if (typeof start === 'string') return start;
  if (!isInteger(s.durationNs)) return 'durationNs is not a non-negative integer';
  const labels = stringRecord(s.labels);
  const attributes = stringRecord(s.attributes);
  if (labels === undefined) return 'labels is not a map of strings';
  if (attributes === undefined) return 'attributes is not a map of strings';
  if (s.breakdown !== undefined) {
    const breakdown = breakdownAttributes(s.breakdown);
    if (typeof breakdown === 'string') return breakdown;
    Object.assign(attributes, breakdown);
  }
  return {
    service: labels.service ?? '',
    start_time: start.time,
    duration_ns: s.durationNs,
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: parent,
    name: s.name,
    kind: s.kind,
    status_code: s.status,
    status_message: s.statusMessage,
    source: 'ebpf',
    resource_attributes: labels,
    span_attributes: attributes,
  };
}

/** A breakdown as its span attributes (decimal strings), or why it is not one. */
function breakdownAttributes(v: unknown): Record<string, string> | string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'breakdown is not a map';
  const b = v as Partial<Record<keyof SpanBreakdown, unknown>>;
  const out: Record<string, string> = {};
  for (const [field, attribute] of Object.entries(BREAKDOWN_ATTRIBUTES) as [keyof SpanBreakdown, string][]) {
    const x = b[field];
    if (!isInteger(x)) return `breakdown.${field} is not a non-negative integer`;
    out[attribute] = String(x);
  }
  return out;
}
