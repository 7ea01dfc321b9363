// OTLP/HTTP trace requests (protobuf or JSON) → span rows, with OpenTelemetry's own proto
// definitions (the protobufjs module @opentelemetry/otlp-transformer generates from them). The
// package exports that module only by its file path, so the dependency is held to one minor
// version (0.208); later versions dropped request decoding and need Node 22.
import otlpRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js';
import { IngestError } from './limits.js';

/** The part of a protobufjs generated message class this module uses. */
interface MessageClass {
  decode(bytes: Uint8Array): object;
  fromObject(object: object): object;
  toObject(message: object, options: { longs: typeof String; bytes: typeof String; enums: typeof Number }): unknown;
  encode(message: object): { finish(): Uint8Array };
}

// The generated module is a namespace of message classes; its declaration only says "Root".
const v1 = (otlpRoot as unknown as { opentelemetry: { proto: { collector: { trace: { v1: Record<string, MessageClass> } } } } })
  .opentelemetry.proto.collector.trace.v1;
const ExportTraceServiceRequest = v1.ExportTraceServiceRequest!;
const ExportTraceServiceResponse = v1.ExportTraceServiceResponse!;

export type OtlpEncoding = 'protobuf' | 'json';

/** One row of kiln_spans, as inserted (JSONEachRow). */
export interface SpanRow {
  service: string;
  /** Unix seconds with nine decimals: DateTime64(9) reads it exactly, a JS number would not hold the nanoseconds. */
  start_time: string;
  duration_ns: number;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  status_code: string;
  status_message: string;
  /** otlp (an SDK) or ebpf (the agent). */
  source: 'otlp' | 'ebpf';
  resource_attributes: Record<string, string>;
  span_attributes: Record<string, string>;
}

export interface DecodedTraces {
  rows: SpanRow[];
  rejected: number;
  /** Why the first rejected span was rejected. */
  rejectReason: string;
}

// The shape of toObject's output (longs and bytes as strings, enums as numbers), fields optional
// as in proto3: only what is read here.
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface KeyValue {
  key?: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValue[];
  status?: { message?: string; code?: number };
}
interface OtlpRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_CODES = ['unset', 'ok', 'error'];
const ID_FIELDS = ['traceId', 'spanId', 'parentSpanId'];

/** Decodes a whole request; a body that is not one is a 400, a span without valid ids is counted as rejected. */
export function decodeTraceRequest(body: Buffer, encoding: OtlpEncoding): DecodedTraces {
  let message: object;
  try {
    message = encoding === 'protobuf' ? ExportTraceServiceRequest.decode(body) : ExportTraceServiceRequest.fromObject(parseJson(body));
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw new IngestError(400, `the body is not an OTLP ExportTraceServiceRequest in ${encoding}: ${(err as Error).message}`, 'bad_otlp');
  }
  const request = ExportTraceServiceRequest.toObject(message, { longs: String, bytes: String, enums: Number }) as OtlpRequest;
  const out: DecodedTraces = { rows: [], rejected: 0, rejectReason: '' };
  for (const rs of request.resourceSpans ?? []) {
    const resource = attributeMap(rs.resource?.attributes);
    // OpenTelemetry's default when an SDK sets no service.name.
    const service = resource['service.name'] ?? 'unknown_service';
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const row = spanRow(span, service, resource);
        if (typeof row === 'string') {
          if (out.rejected++ === 0) out.rejectReason = row;
        } else out.rows.push(row);
      }
    }
  }
  return out;
}

/** ExportTraceServiceResponse in the request's encoding; partial success when spans were rejected. */
export function traceResponse(encoding: OtlpEncoding, rejected: number, reason: string): Buffer | object {
  const partialSuccess = rejected > 0 ? { rejectedSpans: String(rejected), errorMessage: reason } : undefined;
  if (encoding === 'json') return partialSuccess === undefined ? {} : { partialSuccess };
  const message = ExportTraceServiceResponse.fromObject(partialSuccess === undefined ? {} : { partialSuccess });
  return Buffer.from(ExportTraceServiceResponse.encode(message).finish());
}

/**
 * OTLP/JSON writes ids as hex where the protobuf JSON mapping would use base64: they are turned
 * into bytes before the generated fromObject (which reads base64) sees them. An id that is not
 * hex becomes empty, so its span is rejected rather than stored under a garbled id.
 */
function parseJson(body: Buffer): object {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new IngestError(400, `the body is not JSON: ${(err as Error).message}`, 'bad_otlp');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new IngestError(400, 'the body is not an OTLP ExportTraceServiceRequest in json: expected an object', 'bad_otlp');
  }
  for (const rs of arrayAt(parsed, 'resourceSpans')) {
    for (const ss of arrayAt(rs, 'scopeSpans')) {
      for (const span of arrayAt(ss, 'spans')) {
        if (span === null || typeof span !== 'object') continue;
        const fields = span as Record<string, unknown>;
        for (const f of ID_FIELDS) {
          const id = fields[f];
          if (typeof id === 'string') fields[f] = /^(?:[0-9a-fA-F]{2})*$/.test(id) ? Buffer.from(id, 'hex').toString('base64') : '';
        }
      }
    }
  }
  return parsed;
}

function arrayAt(o: unknown, key: string): unknown[] {
  const v = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;
  return Array.isArray(v) ? v : [];
}

function spanRow(span: OtlpSpan, service: string, resource: Record<string, string>): SpanRow | string {
  const traceId = hexId(span.traceId);
  const spanId = hexId(span.spanId);
  if (traceId.length !== 32 || /^0+$/.test(traceId)) return 'a span without a valid 16-byte traceId';
  if (spanId.length !== 16 || /^0+$/.test(spanId)) return 'a span without a valid 8-byte spanId';
  const start = BigInt(span.startTimeUnixNano ?? '0');
  const end = BigInt(span.endTimeUnixNano ?? '0');
  if (start <= 0n) return 'a span without startTimeUnixNano';
  return {
    service,
    start_time: `${start / 1_000_000_000n}.${String(start % 1_000_000_000n).padStart(9, '0')}`,
    // An end before the start (a clock step in the SDK) is stored as an instant, not dropped.
    duration_ns: end > start ? Number(end - start) : 0,
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: hexId(span.parentSpanId),
    name: span.name ?? '',
    kind: KINDS[span.kind ?? 0] ?? 'unspecified',
    status_code: STATUS_CODES[span.status?.code ?? 0] ?? 'unset',
    status_message: span.status?.message ?? '',
    source: 'otlp',
    resource_attributes: resource,
    span_attributes: attributeMap(span.attributes),
  };
}

/** toObject writes bytes as base64. */
function hexId(base64: string | undefined): string {
  return base64 === undefined ? '' : Buffer.from(base64, 'base64').toString('hex');
}

function attributeMap(attributes: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attributes ?? []) if (kv.key !== undefined && kv.key !== '') out[kv.key] = valueText(kv.value);
  return out;
}

/** Attribute values as the text stored in the Map columns; arrays and key-value lists as JSON. */
function valueText(v: AnyValue | undefined): string {
  const scalar = scalarText(v);
  if (scalar !== undefined) return scalar;
  return v?.arrayValue !== undefined || v?.kvlistValue !== undefined ? JSON.stringify(jsonValue(v)) : '';
}

function scalarText(v: AnyValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  return v.bytesValue;
}

function jsonValue(v: AnyValue | undefined): unknown {
  if (v?.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue);
  if (v?.kvlistValue !== undefined)
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key ?? '', jsonValue(kv.value)]));
  return scalarText(v) ?? null;
}
