// The agent's span batches (POST /api/v1/ingest/spans): msgpack AgentSpanBatch → span rows. Each
// span is checked on its own, so one bad span costs only itself.
import type { AgentSpan } from '@kiln/api/http';
import { unpack } from 'msgpackr';
import { IngestError } from './limits.js';
import type { SpanRow } from './otlp.js';

export interface DecodedAgentSpans {
  rows: SpanRow[];
  rejected: number;
  /** Why the first rejected span was rejected. */
  rejectReason: string;
}

// The kernel cannot stamp a time outside these (and the samples table refuses them too).
const MIN_START_NS = BigInt(Date.UTC(2000, 0, 1)) * 1_000_000n;
const MAX_START_NS = BigInt(Date.UTC(2105, 11, 31)) * 1_000_000n;
const KINDS = new Set(['server', 'client']);
const STATUSES = new Set(['unset', 'ok', 'error']);

/** Decodes a whole batch; a body that is not one is a 400, an invalid span is counted as rejected. */
export function decodeAgentSpans(body: Buffer): DecodedAgentSpans {
  let batch: unknown;
  try {
    batch = unpack(body);
  } catch (err) {
    throw new IngestError(400, `the body is not msgpack: ${(err as Error).message}`, 'bad_msgpack');
  }
  const spans = batch !== null && typeof batch === 'object' ? (batch as { spans?: unknown }).spans : undefined;
  if (!Array.isArray(spans)) throw new IngestError(400, 'the body is not a span batch: expected a map with a `spans` array', 'bad_batch');
  const out: DecodedAgentSpans = { rows: [], rejected: 0, rejectReason: '' };
  spans.forEach((span: unknown, i) => {
    const row = spanRow(span);
    if (typeof row !== 'string') out.rows.push(row);
    else if (out.rejected++ === 0) out.rejectReason = `span ${i}: ${row}`;
  });
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
  if (typeof s.startUnixNano !== 'string' || !/^[0-9]{1,20}$/.test(s.startUnixNano)) return 'startUnixNano is not a decimal string';
  const start = BigInt(s.startUnixNano);
  if (start < MIN_START_NS || start > MAX_START_NS) return 'startUnixNano is outside 2000-01-01 .. 2105-12-31';
  // msgpack carries integers past 2^53 as bigint: no real duration is that long.
  const duration = s.durationNs;
  if (typeof duration !== 'number' || !Number.isSafeInteger(duration) || duration < 0) return 'durationNs is not a non-negative integer';
  const labels = stringRecord(s.labels);
  const attributes = stringRecord(s.attributes);
  if (labels === undefined) return 'labels is not a map of strings';
  if (attributes === undefined) return 'attributes is not a map of strings';
  return {
    service: labels.service ?? '',
    start_time: `${start / 1_000_000_000n}.${String(start % 1_000_000_000n).padStart(9, '0')}`,
    duration_ns: duration,
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

/** Lowercase hex of exactly `digits` digits, not all zero (W3C trace context's invalid id). */
function hexId(v: unknown, digits: number): string | undefined {
  if (typeof v !== 'string' || v.length !== digits || !/^[0-9a-fA-F]+$/.test(v) || /^0+$/.test(v)) return undefined;
  return v.toLowerCase();
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Map) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return undefined;
    out[k] = x;
  }
  return out;
}
