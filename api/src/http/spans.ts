// Spans the agent captures in the kernel (POST /api/v1/ingest/spans, msgpack), the CPU profile of
// one span, the latency heatmap of a selection and "compare slow with typical" of one route.
import { Type, type Static } from 'typebox';
import { Selector, Time } from './common.js';
import { DiffResponse, MaxNodes } from './query.js';
import { SpanBreakdown } from './signals.js';

const Hex = (bytes: number, description: string) => Type.String({ pattern: `^[0-9a-f]{${2 * bytes}}$`, description });

/**
 * One span as the agent sends it. Attribute names follow OpenTelemetry's semantic conventions
 * (http.request.method, url.path, http.response.status_code, server.address, db.system.name,
 * db.query.text, db.operation.name, network.peer.address, network.peer.port, process.pid,
 * thread.id) plus Kiln's own: kiln.attribution (exact | thread-window), kiln.overlapped (how many
 * other spans the thread served at the same time) and kiln.stamps (the comma-separated span ids
 * whose CPU samples fall in this span's window, when there are others than its own).
 */
export const AgentSpan = Type.Object({
  traceId: Hex(16, 'trace id: from the request traceparent, the parent span, or generated'),
  spanId: Hex(8, 'span id: the kernel stamps CPU samples with it'),
  parentSpanId: Type.String({ description: 'hex span id of the parent; empty for a root span' }),
  name: Type.String({ description: 'GET /users/{id}, the normalised statement, or the Redis command' }),
  kind: Type.Union([Type.Literal('server'), Type.Literal('client')]),
  startUnixNano: Type.String({ pattern: '^[0-9]{1,20}$', description: 'start, unix nanoseconds (decimal string: beyond 2^53)' }),
  durationNs: Type.Integer({ minimum: 0 }),
  status: Type.Union([Type.Literal('unset'), Type.Literal('ok'), Type.Literal('error')]),
  statusMessage: Type.String(),
  /** The labels the process's profiles carry: service, version, node, namespace, pod, container, … */
  labels: Type.Record(Type.String(), Type.String()),
  attributes: Type.Record(Type.String(), Type.String()),
  /** Server spans, when the scheduler probe runs: where the span's time went. */
  breakdown: Type.Optional(SpanBreakdown),
});
export type AgentSpan = Static<typeof AgentSpan>;

/** The msgpack body of POST /api/v1/ingest/spans (Content-Type application/msgpack, gzip allowed). */
export const AgentSpanBatch = Type.Object({ spans: Type.Array(AgentSpan) });
export type AgentSpanBatch = Static<typeof AgentSpanBatch>;

export const AgentSpanBatchResponse = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0, description: 'spans not stored: invalid ids or times' }),
  rejectReason: Type.Optional(Type.String({ description: 'why, for the first rejected span' })),
});
export type AgentSpanBatchResponse = Static<typeof AgentSpanBatchResponse>;

export const SpanIdParams = Type.Object({ id: Hex(8, 'span id (16 hex digits)') });
export type SpanIdParams = Static<typeof SpanIdParams>;

export const SpanFlamegraphQuery = Type.Object({ maxNodes: MaxNodes });
export type SpanFlamegraphQuery = Static<typeof SpanFlamegraphQuery>;

const SpanFilter = {
  query: Selector('selector on the service and its resource attributes'),
  from: Time(),
  until: Time(),
  name: Type.Optional(Type.String({ description: 'only spans of this route or statement (the span name, exactly)' })),
  status: Type.Optional(Type.Union([Type.Literal('unset'), Type.Literal('ok'), Type.Literal('error')])),
};

export const TraceHeatmapQuery = Type.Object({
  ...SpanFilter,
  timeBuckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'columns (default 60)' })),
});
export type TraceHeatmapQuery = Static<typeof TraceHeatmapQuery>;

export const TraceHeatmapResponse = Type.Object({
  fromMs: Type.Number(),
  untilMs: Type.Number(),
  stepMs: Type.Number({ description: 'width of a column' }),
  /** Row i counts spans with durationBoundsNs[i] <= duration < durationBoundsNs[i + 1] (log scale). */
  durationBoundsNs: Type.Array(Type.Number()),
  /** counts[column][row] */
  counts: Type.Array(Type.Array(Type.Integer({ minimum: 0 }))),
  maxCount: Type.Integer({ minimum: 0 }),
});
export type TraceHeatmapResponse = Static<typeof TraceHeatmapResponse>;

export const SpanCompareQuery = Type.Object({
  ...SpanFilter,
  name: Type.String({ minLength: 1, description: 'the route or statement (span name) to compare' }),
  maxNodes: MaxNodes,
});
export type SpanCompareQuery = Static<typeof SpanCompareQuery>;

export const SpanGroup = Type.Object({
  spans: Type.Integer({ minimum: 0 }),
  cpuSamples: Type.Integer({ minimum: 0 }),
  minDurationNs: Type.Number(),
  maxDurationNs: Type.Number(),
});
export type SpanGroup = Static<typeof SpanGroup>;

/** Above the route's p95 (slow, the diff's right side) against its p40–p60 (typical, the left). */
export const SpanCompareResponse = Type.Object({
  diff: DiffResponse,
  slow: SpanGroup,
  typical: SpanGroup,
});
export type SpanCompareResponse = Static<typeof SpanCompareResponse>;
