// Agent spans in process: msgpack batches (plain, gzipped, partly invalid, garbage) stored in
// kiln_spans; CPU samples stamped with span ids (pprof `span_id` labels) counted per span and
// shown as a span's flame graph and pprof (kiln.stamps included); the latency heatmap; and
// "compare slow with typical" naming the function only the slow requests run.
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { test } from 'node:test';
import type {
  AgentSpan,
  AgentSpanBatchResponse,
  FlamegraphResponse,
  SpanCompareResponse,
  TraceHeatmapResponse,
  TraceResponse,
  TracesResponse,
} from '@kiln/api/http';
import { encodeProfile } from '@kiln/api/pprof';
import type { FastifyInstance } from 'fastify';
import { pack } from 'msgpackr';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { getJson, testApp } from './app.js';

const app: FastifyInstance = await testApp();

const SERVICE = 'work-svc';
const fromS = Math.floor(Date.now() / 1000) - 120;
const range = { from: fromS - 60, until: fromS + 120 };
let next = 0x1000;
const spanHex = () => (next++).toString(16).padStart(16, 'a');
const traceHex = () => (next++).toString(16).padStart(32, 'b');

function agentSpan(name: string, durationMs: number, extra: Partial<AgentSpan> = {}): AgentSpan {
  const startNs = BigInt(fromS) * 1_000_000_000n + BigInt(next) * 1_000_000n;
  return {
    traceId: traceHex(),
    spanId: spanHex(),
    parentSpanId: '',
    name,
    kind: 'server',
    startUnixNano: String(startNs),
    durationNs: durationMs * 1_000_000,
    status: 'ok',
    statusMessage: '',
    labels: { service: SERVICE, node: 'n1' },
    attributes: { 'http.request.method': 'GET', 'kiln.attribution': 'exact' },
    ...extra,
  };
}

async function postSpans(body: Buffer, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/ingest/spans',
    headers: { 'content-type': 'application/msgpack', ...headers },
    payload: body,
  });
  return { status: res.statusCode, body: res.json<AgentSpanBatchResponse & { error?: string }>() };
}

/** A CPU pprof as the agent sends it (cpu/nanoseconds and samples/count), samples labelled with their span. */
async function ingestStamped(samples: { stack: string[]; count: number; spanId?: string }[]) {
  const strings = new StringTable();
  const fns = new Map<string, number>();
  const locationOf = (name: string): number => {
    let id = fns.get(name);
    if (id === undefined) fns.set(name, (id = fns.size + 1));
    return id;
  };
  const sample = samples.map(
    (s) =>
      new Sample({
        locationId: [...s.stack].reverse().map(locationOf),
        value: [s.count * 10_000_000, s.count],
        label: s.spanId === undefined ? [] : [new Label({ key: strings.dedup('span_id'), str: strings.dedup(s.spanId) })],
      }),
  );
  const names = [...fns.keys()];
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
    ],
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period: 10_000_000,
    sample,
    function: names.map((n, i) => new PprofFunction({ id: i + 1, name: strings.dedup(n), systemName: strings.dedup(n) })),
    location: names.map((_, i) => new Location({ id: i + 1, line: [new Line({ functionId: i + 1 })] })),
    stringTable: strings,
  });
  const res = await app.inject({
    method: 'POST',
    url: '/ingest',
    query: { name: SERVICE, format: 'pprof', from: String(fromS), until: String(fromS + 10) },
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from(encodeProfile(profile)),
  });
  assert.equal(res.statusCode, 200, res.body);
}

// 18 typical requests of GET /work (parse + fastPath) and 2 slow ones (mostly slowPath).
const typical = Array.from({ length: 18 }, (_, i) => agentSpan('GET /work', 100 + i));
const slow = [agentSpan('GET /work', 1000), agentSpan('GET /work', 1000)];
// An event-loop span: its thread's samples in its window carry another span's stamp too.
const neighbour = spanHex();
const stamped = agentSpan('GET /stamped', 50, { attributes: { 'kiln.attribution': 'thread-window', 'kiln.stamps': neighbour } });
const empty = agentSpan('GET /empty', 5);
const failed = agentSpan('GET /fail', 30, { status: 'error', statusMessage: '500' });
const unsampled = Array.from({ length: 10 }, (_, i) => agentSpan('GET /nosamples', 10 + i));

test('msgpack batches: stored whole, gzipped, partly invalid (the rest stored), garbage and other types refused', async () => {
  const valid = [...typical, ...slow, stamped, empty, failed, ...unsampled];
  const plain = await postSpans(Buffer.from(pack({ spans: valid.slice(0, 10) })));
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  assert.deepEqual(plain.body, { accepted: 10, rejected: 0 });

  const zipped = await postSpans(gzipSync(pack({ spans: valid.slice(10) })), { 'content-encoding': 'gzip' });
  assert.deepEqual(zipped.body, { accepted: valid.length - 10, rejected: 0 });

  const bad = [
    { ...agentSpan('GET /bad', 1), spanId: 'xyz' },
    { ...agentSpan('GET /bad', 1), traceId: '0'.repeat(32) },
    { ...agentSpan('GET /bad', 1), kind: 'producer' },
    { ...agentSpan('GET /bad', 1), startUnixNano: '12' },
    { ...agentSpan('GET /bad', 1), durationNs: -1 },
    'not a span',
  ];
  const good = agentSpan('GET /partly', 7);
  const partly = await postSpans(Buffer.from(pack({ spans: [...bad, good] })), { 'content-type': 'application/x-msgpack' });
  assert.equal(partly.status, 200);
  assert.equal(partly.body.accepted, 1);
  assert.equal(partly.body.rejected, bad.length);
  assert.match(partly.body.rejectReason ?? '', /span 0: spanId/);

  const garbage = await postSpans(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
  assert.equal(garbage.status, 400);
  assert.match(garbage.body.error ?? '', /msgpack|span batch/);
  const notABatch = await postSpans(Buffer.from(pack({ items: [] })));
  assert.equal(notABatch.status, 400);
  assert.match(notABatch.body.error ?? '', /`spans` array/);
  const badGzip = await postSpans(Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
  assert.equal(badGzip.status, 400);
  const json = await postSpans(Buffer.from('{"spans":[]}'), { 'content-type': 'application/json' });
  assert.equal(json.status, 415);

  const trace = await getJson<TraceResponse>(app, `/api/v1/traces/${good.traceId}`);
  assert.equal(trace.status, 200);
  const [stored] = trace.body.spans;
  assert.equal(stored?.source, 'ebpf');
  assert.equal(stored?.service, SERVICE);
  assert.deepEqual(stored?.resourceAttributes, good.labels);
  assert.deepEqual(stored?.attributes, good.attributes);
  assert.equal(stored?.durationNs, 7_000_000);
  assert.equal(stored?.kind, 'server');

  const openapi = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json<{ paths: Record<string, unknown> }>();
  for (const path of [
    '/api/v1/ingest/spans',
    '/api/v1/spans/{id}/flamegraph',
    '/api/v1/spans/{id}/pprof',
    '/api/v1/traces/heatmap',
    '/api/v1/traces/compare',
  ]) {
    assert.ok(path in openapi.paths, `${path} in the OpenAPI document`);
  }

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /kiln_agent_spans_total\{result="accepted"\} 34/);
  assert.match(metrics, /kiln_agent_spans_total\{result="rejected"\} 6/);
  assert.match(metrics, /kiln_agent_span_requests_rejected_total\{reason="bad_msgpack"\} 1/);
});

test('CPU samples stamped with span ids: counts in the list and the trace, the filters, a span flame graph and pprof', async () => {
  await ingestStamped([
    ...typical.map((s) => ({ stack: ['main', 'handle', 'parse'], count: 1, spanId: s.spanId })),
    ...typical.map((s) => ({ stack: ['main', 'handle', 'fastPath'], count: 1, spanId: s.spanId })),
    ...slow.flatMap((s) => [
      { stack: ['main', 'handle', 'parse'], count: 1, spanId: s.spanId },
      { stack: ['main', 'handle', 'fastPath'], count: 1, spanId: s.spanId },
      { stack: ['main', 'handle', 'slowPath'], count: 8, spanId: s.spanId },
    ]),
    { stack: ['loop', 'stampedWork'], count: 3, spanId: stamped.spanId },
    { stack: ['loop', 'neighbourWork'], count: 2, spanId: neighbour },
    { stack: ['main', 'idle'], count: 100 },
  ]);

  const list = await getJson<TracesResponse>(app, '/api/v1/traces', { ...range, query: `{service="${SERVICE}"}` });
  assert.equal(list.status, 200);
  const byId = new Map(list.body.spans.map((s) => [s.spanId, s]));
  assert.equal(byId.get(slow[0]!.spanId)?.cpuSamples, 10);
  assert.equal(byId.get(typical[0]!.spanId)?.cpuSamples, 2);
  assert.equal(byId.get(stamped.spanId)?.cpuSamples, 5, 'its own samples and those of kiln.stamps');
  assert.equal(byId.get(empty.spanId)?.cpuSamples, 0);
  assert.equal(list.body.spans[0]?.durationNs, 1_000_000_000, 'slowest first');

  const trace = await getJson<TraceResponse>(app, `/api/v1/traces/${slow[1]!.traceId}`);
  assert.equal(trace.body.spans[0]?.cpuSamples, 10);

  const errors = await getJson<TracesResponse>(app, '/api/v1/traces', { ...range, status: 'error' });
  assert.deepEqual(
    errors.body.spans.map((s) => s.spanId),
    [failed.spanId],
  );
  const named = await getJson<TracesResponse>(app, '/api/v1/traces', { ...range, name: 'GET /work', minDuration: '500ms' });
  assert.deepEqual(named.body.spans.map((s) => s.spanId).sort(), slow.map((s) => s.spanId).sort());
  const badStatus = await getJson(app, '/api/v1/traces', { ...range, status: 'bogus' });
  assert.equal(badStatus.status, 400);

  const graph = await getJson<FlamegraphResponse>(app, `/api/v1/spans/${slow[0]!.spanId}/flamegraph`);
  assert.equal(graph.status, 200);
  assert.equal(graph.body.flamebearer.numTicks, 10 * 10_000_000);
  assert.ok(graph.body.flamebearer.names.includes('slowPath'));
  assert.ok(!graph.body.flamebearer.names.includes('idle'), 'unstamped samples are not the span’s');

  const window = await getJson<FlamegraphResponse>(app, `/api/v1/spans/${stamped.spanId}/flamegraph`);
  assert.ok(window.body.flamebearer.names.includes('stampedWork'));
  assert.ok(window.body.flamebearer.names.includes('neighbourWork'), 'kiln.stamps');

  const none = await getJson<FlamegraphResponse>(app, `/api/v1/spans/${empty.spanId}/flamegraph`);
  assert.equal(none.status, 200);
  assert.equal(none.body.flamebearer.numTicks, 0);

  const unknown = await getJson(app, `/api/v1/spans/${'9'.repeat(16)}/flamegraph`);
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.error ?? '', /no span 9{16}/);
  const malformed = await getJson(app, '/api/v1/spans/xyz/flamegraph');
  assert.equal(malformed.status, 400);

  const pprof = await app.inject({ method: 'GET', url: `/api/v1/spans/${stamped.spanId}/pprof` });
  assert.equal(pprof.statusCode, 200);
  const decoded = Profile.decode(gunzipSync(pprof.rawPayload));
  const fnNames = decoded.function.map((f) => decoded.stringTable.strings[Number(f.name)]);
  assert.deepEqual(fnNames.sort(), ['loop', 'neighbourWork', 'stampedWork']);
  const unknownPprof = await app.inject({ method: 'GET', url: `/api/v1/spans/${'9'.repeat(16)}/pprof` });
  assert.equal(unknownPprof.statusCode, 404);
});

test('heatmap: every span of the filter counted once, in log-scale duration rows', async () => {
  const r = await getJson<TraceHeatmapResponse>(app, '/api/v1/traces/heatmap', { ...range, name: 'GET /work', timeBuckets: 12 });
  assert.equal(r.status, 200);
  const h = r.body;
  assert.equal(h.counts.length, 12);
  assert.equal(h.durationBoundsNs.length, h.counts[0]!.length + 1);
  assert.equal(
    h.counts.flat().reduce((a, b) => a + b, 0),
    20,
  );
  // The slow spans' row holds 1 s and is above the typical ones'.
  const rowOf = (ns: number) => h.durationBoundsNs.findIndex((b, i) => b <= ns && ns < h.durationBoundsNs[i + 1]!);
  assert.ok(rowOf(1e9) > rowOf(117e6));
  assert.equal(
    h.counts.reduce((sum, col) => sum + col[rowOf(1e9)]!, 0),
    2,
  );
  assert.ok(h.maxCount >= 2);
  const emptyMap = await getJson<TraceHeatmapResponse>(app, '/api/v1/traces/heatmap', { ...range, name: 'nothing' });
  assert.deepEqual(emptyMap.body.durationBoundsNs, []);
  assert.equal(emptyMap.body.maxCount, 0);
});

test('compare slow with typical: the slow requests’ own function is the top regression', async () => {
  const r = await getJson<SpanCompareResponse>(app, '/api/v1/traces/compare', { ...range, name: 'GET /work' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.slow, { spans: 2, cpuSamples: 20, minDurationNs: 1e9, maxDurationNs: 1e9 });
  assert.ok(r.body.typical.spans >= 3 && r.body.typical.spans <= 6, `p40–p60 of 20: ${r.body.typical.spans}`);
  assert.equal(r.body.typical.cpuSamples, 2 * r.body.typical.spans);
  assert.ok(r.body.typical.maxDurationNs < 200e6);
  const { changes } = r.body.diff.metadata;
  const grew = changes.filter((c) => c.rightSelf / r.body.diff.rightTicks > c.leftSelf / r.body.diff.leftTicks);
  assert.equal(grew[0]?.name, 'slowPath');
  assert.equal(changes[0]?.name, 'slowPath');
  assert.equal(r.body.diff.metadata.format, 'double');

  const few = await getJson(app, '/api/v1/traces/compare', { ...range, name: 'GET /stamped' });
  assert.equal(few.status, 400);
  assert.match(few.body.error ?? '', /only 1 spans named "GET \/stamped".*at least 10/);
  const unknown = await getJson(app, '/api/v1/traces/compare', { ...range, name: 'GET /nothing' });
  assert.equal(unknown.status, 404);
  const noSamples = await getJson(app, '/api/v1/traces/compare', { ...range, name: 'GET /nosamples' });
  assert.equal(noSamples.status, 404);
  assert.match(noSamples.body.error ?? '', /no CPU samples/);
});
