// OTLP traces end to end: the OpenTelemetry Node SDK with its OTLP/HTTP protobuf exporter pushes
// to a real `kiln server`, and the spans come back from the traces API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { TraceResponse, TracesResponse } from '@kiln/api/http';
import { startServer, type KilnServer } from './lib/kiln.js';

const TIMEOUT = 120_000;
let server: KilnServer;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

test('spans exported by the OpenTelemetry SDK are listed slowest first and read back as one trace', { timeout: TIMEOUT }, async () => {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'e2e-shop', 'service.version': '1.2.3' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${server.url}/v1/traces` }))],
  });
  const tracer = provider.getTracer('kiln-e2e');
  const start = Date.now() - 5_000;
  const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.route': '/checkout' } });
  const query = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, startTime: start + 10 }, trace.setSpan(ROOT_CONTEXT, root));
  query.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
  query.end(start + 60);
  root.end(start + 120);
  await provider.forceFlush();
  await provider.shutdown();

  const traceId = root.spanContext().traceId;
  // The server answers the exporter only after the insert, but wait anyway rather than race a flush.
  let list: { status: number; body: TracesResponse } | undefined;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    list = await getJson<TracesResponse>(`/api/v1/traces?query=${encodeURIComponent('{service="e2e-shop"}')}&from=now-5m&until=now`);
    if (list.body.spans?.length === 2) break;
  }
  assert.equal(list?.status, 200, JSON.stringify(list?.body));
  assert.deepEqual(
    list.body.spans.map((s) => [s.name, s.kind, s.durationNs, s.status, s.traceId]),
    [
      ['GET /checkout', 'server', 120_000_000, 'unset', traceId],
      ['SELECT orders', 'client', 50_000_000, 'error', traceId],
    ],
    server.output(),
  );

  const one = await getJson<TraceResponse>(`/api/v1/traces/${traceId}`);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  const [first, second] = one.body.spans;
  assert.equal(first?.spanId, root.spanContext().spanId);
  assert.equal(second?.parentSpanId, root.spanContext().spanId);
  assert.equal(second?.statusMessage, 'deadlock detected');
  assert.equal(first?.attributes['http.route'], '/checkout');
  assert.equal(first?.resourceAttributes['service.version'], '1.2.3');
  assert.ok(first.start >= start && first.start < start + 1, `start ${first.start} is unix ms`);

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /kiln_otlp_spans_total\{result="accepted"\} 2/);
});
