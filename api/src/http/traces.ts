// Spans: OTLP/HTTP traces in (POST /v1/traces), the slowest spans of a selection and the spans of
// one trace out. Ids are lowercase hex, as in OTLP/JSON and W3C trace context.
import { Type, type Static } from 'typebox';
import { Selector, Time } from './common.js';
import { SpanBreakdown } from './signals.js';

/** The JSON answer of POST /v1/traces (protobuf requests get the same message in protobuf). */
export const OtlpTraceResponse = Type.Object({
  partialSuccess: Type.Optional(
    Type.Object({
      rejectedSpans: Type.String({ description: 'spans not stored (int64 as a string, as OTLP/JSON writes it)' }),
      errorMessage: Type.String({ description: 'why, for the first rejected span' }),
    }),
  ),
});
export type OtlpTraceResponse = Static<typeof OtlpTraceResponse>;

export const TracesQuery = Type.Object({
  query: Selector('selector on the service and its resource attributes, e.g. {service="checkout",deployment.environment="prod"}'),
  from: Time(),
  until: Time(),
  minDuration: Type.Optional(Type.String({ description: 'only spans at least this long: 250ms, 2s, 1m' })),
  name: Type.Optional(Type.String({ description: 'only spans of this route or statement (the span name, exactly)' })),
  status: Type.Optional(
    Type.Union([Type.Literal('unset'), Type.Literal('ok'), Type.Literal('error')], { description: 'only spans with this status' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'at most this many (default 100, at most 10000)' })),
});
export type TracesQuery = Static<typeof TracesQuery>;

const Hex = (bytes: number, description: string) => Type.String({ pattern: `^[0-9a-f]{${2 * bytes}}$`, description });

const SpanFields = {
  traceId: Hex(16, 'trace id'),
  spanId: Hex(8, 'span id'),
  parentSpanId: Type.String({ description: 'span id of the parent; empty for a root span' }),
  name: Type.String({ description: 'span name: the route or statement' }),
  kind: Type.String({ description: 'unspecified, internal, server, client, producer or consumer' }),
  service: Type.String({ description: 'the service.name resource attribute' }),
  start: Type.Number({ description: 'unix ms, with microseconds as the fraction' }),
  durationNs: Type.Integer({ minimum: 0 }),
  status: Type.String({ description: 'unset, ok or error' }),
  statusMessage: Type.String(),
  source: Type.String({ description: 'otlp (an SDK) or ebpf (the agent)' }),
  cpuSamples: Type.Integer({ minimum: 0, description: 'CPU samples taken while the span ran, stamped with its id' }),
};

export const SpanSummary = Type.Object(SpanFields);
export type SpanSummary = Static<typeof SpanSummary>;

export const TracesResponse = Type.Object({
  spans: Type.Array(SpanSummary, { description: 'slowest first' }),
});
export type TracesResponse = Static<typeof TracesResponse>;

export const TraceIdParams = Type.Object({ id: Hex(16, 'trace id (32 hex digits)') });
export type TraceIdParams = Static<typeof TraceIdParams>;

export const Span = Type.Object({
  ...SpanFields,
  resourceAttributes: Type.Record(Type.String(), Type.String()),
  attributes: Type.Record(Type.String(), Type.String()),
  /** Spans the agent captured while the scheduler probe ran: on-CPU, run queue, throttled, other off-CPU, retransmits. */
  breakdown: Type.Optional(SpanBreakdown),
});
export type Span = Static<typeof Span>;

export const TraceResponse = Type.Object({
  traceId: Hex(16, 'trace id'),
  spans: Type.Array(Span, { description: 'every stored span of the trace, by start time' }),
});
export type TraceResponse = Static<typeof TraceResponse>;
