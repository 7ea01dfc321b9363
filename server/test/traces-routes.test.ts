// OTLP/HTTP traces in process: bodies built by OpenTelemetry's own serializers (the ones its
// exporters use), protobuf and JSON, gzipped or not; the slowest spans and a whole trace read back;
// bodies that are not OTLP are 400s, other content types 415s, and /metrics counts the spans.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { TraceResponse, TracesResponse } from '@kiln/api/http';
import type { FastifyInstance } from 'fastify';
import { getJson, testApp } from './app.js';

const app: FastifyInstance = await testApp();

type ReadableSpan = Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0][number];

const nowNs = BigInt(Date.now()) * 1_000_000n;
let next = 1;
const hexId = (bytes: number) => (next++).toString(16).padStart(2 * bytes, '0');

interface SpanSpec {
  service: string;
  name: string;
  traceId: string;
  parentSpanId?: string;
  durationMs: number;
  error?: boolean;
  /** The API's SpanKind: 0 internal, 1 server, 2 client (OTLP numbers them one higher). */
  kind?: number;
}

/** An SDK span as the exporters receive it (the fields the OTLP serializers read). */
function sdkSpan(s: SpanSpec, spanId = hexId(8)): ReadableSpan {
  const start = nowNs - 60_000_000_000n + BigInt(next) * 1_000_000n + 123n;
  const end = start + BigInt(s.durationMs) * 1_000_000n;
  const hr = (ns: bigint): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  const span = {
    name: s.name,
    kind: s.kind ?? 1,
    spanContext: () => ({ traceId: s.traceId, spanId, traceFlags: 1 }),
    parentSpanContext: s.parentSpanId === undefined ? undefined : { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1 },
    startTime: hr(start),
    endTime: hr(end),
    status: s.error === true ? { code: 2, message: 'boom' } : { code: 0 },
    attributes: { 'http.route': s.name, 'http.response.status_code': s.error === true ? 500 : 200, retried: false },
    links: [],
    events: [],
    duration: hr(end - start),
    ended: true,
    resource: { attributes: { 'service.name': s.service, 'deployment.environment': 'test' } },
    instrumentationScope: { name: 'kiln-test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
  return span as unknown as ReadableSpan;
}

async function post(body: Uint8Array | string, contentType: string, extra: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': contentType, ...extra }, payload: Buffer.from(body) });
}

test('protobuf, JSON and gzip bodies are stored; the slowest spans come first and a trace holds all its spans', async () => {
  const traceA = hexId(16);
  const traceB = hexId(16);
  const rootId = hexId(8);
  const protobufBody = ProtobufTraceSerializer.serializeRequest([
    sdkSpan({ service: 'checkout', name: 'GET /cart', traceId: traceA, durationMs: 40 }, rootId),
    sdkSpan({ service: 'checkout', name: 'SELECT cart', traceId: traceA, parentSpanId: rootId, durationMs: 25, kind: 2 }),
  ])!;
  const r1 = await post(protobufBody, 'application/x-protobuf');
  assert.equal(r1.statusCode, 200, r1.body);
  assert.equal(r1.headers['content-type'], 'application/x-protobuf');
  assert.deepEqual({ ...ProtobufTraceSerializer.deserializeResponse(r1.rawPayload) }, {}, 'an empty ExportTraceServiceResponse');

  const jsonBody = JsonTraceSerializer.serializeRequest([
    sdkSpan({ service: 'checkout', name: 'POST /pay', traceId: traceB, durationMs: 300, error: true }),
  ])!;
  const r2 = await post(jsonBody, 'application/json; charset=utf-8');
  assert.equal(r2.statusCode, 200, r2.body);
  assert.deepEqual(r2.json(), {});

  const gzipped = ProtobufTraceSerializer.serializeRequest([
    sdkSpan({ service: 'search', name: 'GET /q', traceId: hexId(16), durationMs: 500 }),
  ])!;
  const r3 = await post(gzipSync(gzipped), 'application/x-protobuf', { 'content-encoding': 'gzip' });
  assert.equal(r3.statusCode, 200, r3.body);

  const list = await getJson<TracesResponse>(app, '/api/v1/traces', { query: '{service="checkout"}', from: 'now-5m', until: 'now' });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.deepEqual(
    list.body.spans.map((s) => [s.name, s.durationNs, s.status, s.cpuSamples]),
    [
      ['POST /pay', 300_000_000, 'error', 0],
      ['GET /cart', 40_000_000, 'unset', 0],
      ['SELECT cart', 25_000_000, 'unset', 0],
    ],
  );
  const pay = list.body.spans[0]!;
  assert.equal(pay.traceId, traceB, 'JSON hex ids are read as hex');
  assert.equal(pay.statusMessage, 'boom');
  assert.equal(pay.source, 'otlp');
  assert.equal(pay.kind, 'server');

  const slow = await getJson<TracesResponse>(app, '/api/v1/traces', { from: 'now-5m', until: 'now', minDuration: '100ms', limit: 1 });
  assert.equal(slow.status, 200, JSON.stringify(slow.body));
  assert.deepEqual(
    slow.body.spans.map((s) => [s.service, s.name]),
    [['search', 'GET /q']],
    'the slowest of all services, at most limit',
  );
  const byResource = await getJson<TracesResponse>(app, '/api/v1/traces', {
    query: '{deployment.environment="prod"}',
    from: 'now-5m',
    until: 'now',
  });
  assert.deepEqual(byResource.body.spans, [], 'matchers on resource attributes');

  const trace = await getJson<TraceResponse>(app, `/api/v1/traces/${traceA}`);
  assert.equal(trace.status, 200, JSON.stringify(trace.body));
  const [root, child] = trace.body.spans;
  assert.equal(trace.body.spans.length, 2);
  assert.equal(root!.spanId, rootId);
  assert.equal(root!.parentSpanId, '');
  assert.equal(child!.parentSpanId, rootId);
  assert.equal(child!.kind, 'client');
  assert.ok(child!.start > root!.start && Math.abs(root!.start - Date.now()) < 120_000, `start ${root!.start} is unix ms`);
  assert.deepEqual(root!.attributes, { 'http.route': 'GET /cart', 'http.response.status_code': '200', retried: 'false' });
  assert.deepEqual(root!.resourceAttributes, { 'service.name': 'checkout', 'deployment.environment': 'test' });

  const missing = await getJson(app, `/api/v1/traces/${'f'.repeat(32)}`);
  assert.equal(missing.status, 404);
  const badId = await getJson(app, '/api/v1/traces/not-an-id');
  assert.equal(badId.status, 400);
});

test('spans without valid ids are rejected one by one, as a partial success', async () => {
  const body = JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partial' } }] },
        scopeSpans: [
          {
            spans: [
              { traceId: 'zz', spanId: '0000000000000001', name: 'bad', startTimeUnixNano: String(nowNs), endTimeUnixNano: String(nowNs) },
              {
                traceId: hexId(16),
                spanId: hexId(8),
                name: 'good',
                kind: 'SPAN_KIND_SERVER',
                startTimeUnixNano: String(nowNs),
                endTimeUnixNano: String(nowNs + 5n),
              },
            ],
          },
        ],
      },
    ],
  });
  const r = await post(body, 'application/json');
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(r.json(), { partialSuccess: { rejectedSpans: '1', errorMessage: 'a span without a valid 16-byte traceId' } });
  const list = await getJson<TracesResponse>(app, '/api/v1/traces', { query: '{service="partial"}', from: 'now-5m', until: 'now+1m' });
  assert.deepEqual(
    list.body.spans.map((s) => [s.name, s.kind, s.durationNs]),
    [['good', 'server', 5]],
  );
});

test('bodies that are not OTLP are 400s, other content types 415s, and /metrics counts both', async () => {
  const good = ProtobufTraceSerializer.serializeRequest([sdkSpan({ service: 'x', name: 'y', traceId: hexId(16), durationMs: 1 })])!;
  const cases: [string, Uint8Array | string, string, Record<string, string>?][] = [
    ['truncated protobuf', good.subarray(0, good.length - 7), 'application/x-protobuf'],
    ['garbage protobuf', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'application/x-protobuf'],
    ['malformed JSON', '{"resourceSpans": [', 'application/json'],
    ['JSON of the wrong shape', '{"resourceSpans": 5}', 'application/json'],
    ['bad gzip', Buffer.from('not gzip'), 'application/x-protobuf', { 'content-encoding': 'gzip' }],
  ];
  for (const [what, body, type, extra] of cases) {
    const r = await post(body, type, extra);
    assert.equal(r.statusCode, 400, `${what}: ${r.body}`);
    assert.match(r.json<{ error: string }>().error, /OTLP|JSON|gzip/, what);
  }
  const wrongType = await post('a;b 1', 'text/plain');
  assert.equal(wrongType.statusCode, 415, wrongType.body);
  assert.match(wrongType.json<{ error: string }>().error, /application\/x-protobuf or application\/json/);

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /kiln_otlp_spans_total\{result="accepted"\} [1-9]/);
  assert.match(metrics, /kiln_otlp_spans_total\{result="rejected"\} [1-9]/);
  assert.match(metrics, /kiln_otlp_requests_rejected_total\{reason="bad_otlp"\} 4/);
  assert.match(metrics, /kiln_otlp_requests_rejected_total\{reason="bad_content_type"\} 1/);
});
