// Kernel signals in process: msgpack signal batches (plain, gzipped, partly invalid, garbage) stored
// in kiln_signals and read back as totals, series, top lists, the kernel's cpu.stat counters and the
// episodes or connections of a range, filtered by selector; and a span's breakdown stored with it.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import type {
  AgentCgroupCpuStat,
  AgentCgroupWaits,
  AgentConnectionRetransmits,
  AgentSchedEpisode,
  AgentSignalBatch,
  AgentSignalBatchResponse,
  AgentSpan,
  AgentSpanBatchResponse,
  SignalEpisodesResponse,
  SignalsResponse,
  TraceResponse,
} from '@kiln/api/http';
import type { FastifyInstance } from 'fastify';
import { pack } from 'msgpackr';
import { signalBuckets } from '../src/query/signals.js';
import { getJson, testApp } from './app.js';

const app: FastifyInstance = await testApp();

const T0 = (Math.floor(Date.now() / 1000) - 600) * 1000;
const range = { from: T0 - 60_000, until: T0 + 120_000 };
const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);

const web = { service: 'web', node: 'n1' };
const db = { service: 'db', node: 'n1' };
const waits = (
  kind: 'throttle' | 'runqueue',
  labels: Record<string, string>,
  cgroup: string,
  atMs: number,
  totalNs: number,
): AgentCgroupWaits => ({
  kind,
  cgroup,
  labels,
  timeUnixMs: T0 + atMs,
  intervalMs: 10_000,
  totalNs,
  count: 10,
  histogram: [1, 2, 3, 4],
});
const episode = (kind: 'throttle' | 'runqueue', labels: Record<string, string>, atMs: number, durationNs: number): AgentSchedEpisode => ({
  kind,
  cgroup: `/${labels.service}`,
  labels,
  startUnixNano: ns(T0 + atMs),
  durationNs,
  pid: 100,
  tid: 101,
  comm: 'burner',
  spanId: '',
});
const cpuStat = (labels: Record<string, string>, atMs: number): AgentCgroupCpuStat => ({
  cgroup: `/${labels.service}`,
  labels,
  timeUnixMs: T0 + atMs,
  intervalMs: 10_000,
  periods: 100,
  throttledPeriods: 90,
  throttledNs: 8_000_000_000,
  quotaUs: 10_000,
  periodUs: 100_000,
});
const retransmits = (remotePort: number, atMs: number, segments: number, labels = web): AgentConnectionRetransmits => ({
  timeUnixMs: T0 + atMs + 1000,
  firstUnixNano: ns(T0 + atMs),
  lastUnixNano: ns(T0 + atMs + 500),
  segments,
  hits: 1,
  family: 'ipv4',
  localAddress: '10.0.0.1',
  localPort: 43210,
  remoteAddress: '10.0.0.2',
  remotePort,
  state: 'ESTABLISHED',
  synack: false,
  pid: 200,
  tid: 200,
  comm: 'sender',
  cgroup: `/${labels.service}`,
  labels,
});

async function post(url: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/msgpack', ...headers }, payload: body });
  return { status: res.statusCode, headers: res.headers, body: res.json<AgentSignalBatchResponse & { error?: string }>() };
}
const postSignals = (batch: unknown, headers: Record<string, string> = {}) =>
  post('/api/v1/ingest/signals', Buffer.from(pack(batch)), headers);
const empty: AgentSignalBatch = { waits: [], episodes: [], cpuStats: [], retransmits: [] };

test('signal batches: stored, gzipped, partly invalid (the rest stored), garbage, non-batches and other types refused', async () => {
  const first = await postSignals({
    ...empty,
    waits: [waits('throttle', web, '/web', 10_000, 3_000_000), waits('throttle', db, '/db', 10_000, 1_000_000)],
    episodes: [
      episode('throttle', web, 2_000, 6_000_000),
      episode('throttle', web, 5_000, 9_000_000),
      episode('runqueue', db, 3_000, 7_000_000),
    ],
  });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body, { accepted: 5, rejected: 0 });

  const zipped = await post(
    '/api/v1/ingest/signals',
    gzipSync(
      pack({
        waits: [waits('throttle', web, '/web', 70_000, 2_000_000), waits('runqueue', db, '/db', 70_000, 4_000_000)],
        episodes: [],
        cpuStats: [cpuStat(web, 10_000), cpuStat(web, 70_000), cpuStat(db, 70_000)],
        retransmits: [retransmits(80, 1_000, 30), retransmits(80, 61_000, 12), retransmits(5432, 2_000, 5, db)],
      }),
    ),
    { 'content-encoding': 'gzip' },
  );
  assert.deepEqual(zipped.body, { accepted: 8, rejected: 0 });

  const partly = await postSignals(
    {
      waits: [waits('runqueue', web, '/web', 20_000, 500_000), { ...waits('runqueue', web, '/web', 20_000, 1), kind: 'sleep' }],
      episodes: [{ ...episode('runqueue', web, 1, 1), spanId: 'xyz' }],
      cpuStats: [{ ...cpuStat(web, 1), quotaUs: -2 }],
      retransmits: [{ ...retransmits(80, 1, 1), lastUnixNano: '1' }, { ...retransmits(80, 1, 1), localPort: 70_000 }, 'not a record'],
    },
    { 'content-type': 'application/x-msgpack' },
  );
  assert.equal(partly.status, 200);
  assert.equal(partly.body.accepted, 1);
  assert.equal(partly.body.rejected, 6);
  assert.match(partly.body.rejectReason ?? '', /^waits 1: kind is not throttle or runqueue/);

  const garbage = await post('/api/v1/ingest/signals', Buffer.from([0xc1, 0xff, 0x00, 0x13]));
  assert.equal(garbage.status, 400);
  assert.match(garbage.body.error ?? '', /msgpack/);
  const spans = await postSignals({ spans: [] });
  assert.equal(spans.status, 400);
  assert.match(spans.body.error ?? '', /not a signal batch.*`waits`, `episodes`, `cpuStats`, `retransmits`/);
  const nothing = await post('/api/v1/ingest/signals', Buffer.alloc(0));
  assert.equal(nothing.status, 400);
  const json = await post('/api/v1/ingest/signals', Buffer.from('{}'), { 'content-type': 'application/json' });
  assert.equal(json.status, 415);
  assert.match(json.body.error ?? '', /application\/msgpack/);

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /kiln_agent_signal_records_total\{result="accepted"\} 14/);
  assert.match(metrics, /kiln_agent_signal_records_total\{result="rejected"\} 6/);
  assert.match(metrics, /kiln_agent_signal_requests_rejected_total\{reason="bad_content_type"\} 1/);
});

test('GET /api/v1/signals: throttled time, series, top cgroups and the kernel’s counters; selector filtering', async () => {
  const all = await getJson<SignalsResponse>(app, '/api/v1/signals', { kind: 'throttle', ...range, maxPoints: 18 });
  assert.equal(all.status, 200, JSON.stringify(all.body));
  assert.equal(all.body.unit, 'nanoseconds');
  // Every throttle wait (3 + 1 + 2 ms), not only the episodes.
  assert.equal(all.body.total, 6_000_000);
  assert.ok(all.body.values.length <= 18, String(all.body.values.length));
  assert.equal(
    all.body.values.reduce((a, b) => a + b, 0),
    all.body.total,
  );
  assert.equal(all.body.fromMs % all.body.stepMs, 0, 'points start on a multiple of the step');
  assert.ok(all.body.fromMs <= range.from && all.body.untilMs >= range.until);
  const bucketOf = (ms: number) => Math.floor((ms - all.body.fromMs) / all.body.stepMs);
  assert.equal(all.body.values[bucketOf(T0 + 10_000)], 4_000_000);
  assert.equal(all.body.values[bucketOf(T0 + 70_000)], 2_000_000);
  assert.deepEqual(
    all.body.top.map((t) => [t.name, t.value, t.service, t.cgroup]),
    [
      ['web (/web)', 5_000_000, 'web', '/web'],
      ['db (/db)', 1_000_000, 'db', '/db'],
    ],
  );
  assert.deepEqual(all.body.kernel, { throttledNs: 24_000_000_000, throttledPeriods: 270, periods: 300 });

  const webOnly = await getJson<SignalsResponse>(app, '/api/v1/signals', { kind: 'throttle', query: '{service="web"}', ...range, top: 1 });
  assert.equal(webOnly.body.total, 5_000_000);
  assert.deepEqual(webOnly.body.kernel, { throttledNs: 16_000_000_000, throttledPeriods: 180, periods: 200 });
  const byLabel = await getJson<SignalsResponse>(app, '/api/v1/signals', {
    kind: 'throttle',
    query: '{node="n1",service=~"d.*"}',
    ...range,
  });
  assert.equal(byLabel.body.total, 1_000_000);
  const none = await getJson<SignalsResponse>(app, '/api/v1/signals', { kind: 'throttle', query: '{node="n2"}', ...range });
  assert.equal(none.body.total, 0);
  assert.deepEqual(none.body.top, []);

  const runqueue = await getJson<SignalsResponse>(app, '/api/v1/signals', { kind: 'runqueue', ...range });
  assert.equal(runqueue.body.total, 4_500_000);
  assert.equal(runqueue.body.kernel, undefined);
  assert.ok(runqueue.body.values.length <= 120);

  const retransmit = await getJson<SignalsResponse>(app, '/api/v1/signals', { kind: 'retransmit', ...range });
  assert.equal(retransmit.body.unit, 'segments');
  assert.equal(retransmit.body.total, 47);
  assert.deepEqual(
    retransmit.body.top.map((t) => [t.name, t.value, t.service, t.connection?.pid, t.connection?.state]),
    [
      ['10.0.0.1:43210 → 10.0.0.2:80', 42, 'web', 200, 'ESTABLISHED'],
      ['10.0.0.1:43210 → 10.0.0.2:5432', 5, 'db', 200, 'ESTABLISHED'],
    ],
  );
});

test('GET /api/v1/signals/episodes: longest waits first, connections by segments over their intervals', async () => {
  const throttle = await getJson<SignalEpisodesResponse>(app, '/api/v1/signals/episodes', { kind: 'throttle', ...range });
  assert.equal(throttle.status, 200, JSON.stringify(throttle.body));
  assert.deepEqual(
    throttle.body.episodes.map((e) => [e.durationNs, e.service, e.cgroup, e.pid, e.tid, e.comm, e.start]),
    [
      [9_000_000, 'web', '/web', 100, 101, 'burner', T0 + 5_000],
      [6_000_000, 'web', '/web', 100, 101, 'burner', T0 + 2_000],
    ],
  );
  assert.deepEqual(throttle.body.connections, []);
  const limited = await getJson<SignalEpisodesResponse>(app, '/api/v1/signals/episodes', { kind: 'throttle', ...range, limit: 1 });
  assert.equal(limited.body.episodes.length, 1);
  // A bucket: only the episodes that started in it.
  const bucket = await getJson<SignalEpisodesResponse>(app, '/api/v1/signals/episodes', {
    kind: 'throttle',
    from: T0,
    until: T0 + 3_000,
  });
  assert.deepEqual(
    bucket.body.episodes.map((e) => e.durationNs),
    [6_000_000],
  );
  const runqueue = await getJson<SignalEpisodesResponse>(app, '/api/v1/signals/episodes', {
    kind: 'runqueue',
    query: '{service="db"}',
    ...range,
  });
  assert.deepEqual(
    runqueue.body.episodes.map((e) => e.durationNs),
    [7_000_000],
  );

  const retransmit = await getJson<SignalEpisodesResponse>(app, '/api/v1/signals/episodes', { kind: 'retransmit', ...range });
  assert.deepEqual(retransmit.body.episodes, []);
  const [conn, other] = retransmit.body.connections;
  assert.equal(retransmit.body.connections.length, 2);
  assert.deepEqual(
    { ...conn, first: undefined, last: undefined },
    {
      first: undefined,
      last: undefined,
      segments: 42,
      family: 'ipv4',
      localAddress: '10.0.0.1',
      localPort: 43210,
      remoteAddress: '10.0.0.2',
      remotePort: 80,
      state: 'ESTABLISHED',
      pid: 200,
      comm: 'sender',
      service: 'web',
      cgroup: '/web',
    },
  );
  assert.equal(conn?.first, T0 + 1_000);
  assert.equal(conn?.last, T0 + 61_500);
  assert.equal(other?.segments, 5);
});

test('bad query parameters are 400s that say what is wrong', async () => {
  const kind = await getJson(app, '/api/v1/signals', { kind: 'latency', ...range });
  assert.equal(kind.status, 400);
  assert.match(kind.body.error ?? '', /kind/);
  const missing = await getJson(app, '/api/v1/signals/episodes', range);
  assert.equal(missing.status, 400);
  assert.match(missing.body.error ?? '', /kind/);
  const backwards = await getJson(app, '/api/v1/signals', { kind: 'throttle', from: range.until, until: range.from });
  assert.equal(backwards.status, 400);
  assert.match(backwards.body.error ?? '', /from must be before until/);
  const points = await getJson(app, '/api/v1/signals', { kind: 'throttle', ...range, maxPoints: 0 });
  assert.equal(points.status, 400);
  assert.match(points.body.error ?? '', /maxPoints/);
  const selector = await getJson(app, '/api/v1/signals/episodes', { kind: 'retransmit', query: '{service=web}', ...range });
  assert.equal(selector.status, 400);
  assert.match(selector.body.error ?? '', /malformed selector/);

  const openapi = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json<{ paths: Record<string, unknown> }>();
  for (const path of ['/api/v1/ingest/signals', '/api/v1/signals', '/api/v1/signals/episodes']) assert.ok(openapi.paths[path], path);
});

test('signal buckets: at most maxPoints, starting on a multiple of the step, covering the range', () => {
  for (const [fromMs, untilMs, maxPoints] of [
    [1_700_000_001_234, 1_700_003_601_234, 120],
    [1_700_000_000_000, 1_700_000_000_500, 120],
    [1_700_000_007_000, 1_700_000_607_000, 7],
    [1_700_000_000_000, 1_700_086_400_000, 1],
  ] as const) {
    const b = signalBuckets({ fromMs, untilMs }, maxPoints);
    assert.ok(b.buckets >= 1 && b.buckets <= maxPoints, JSON.stringify(b));
    assert.equal(b.startS % b.stepS, 0);
    assert.ok(b.startS * 1000 <= fromMs && (b.startS + b.buckets * b.stepS) * 1000 >= untilMs, JSON.stringify(b));
  }
});

test('a span’s breakdown is stored with it and answered as `breakdown`, not among its attributes; a bad one rejects the span', async () => {
  const span = (spanId: string, breakdown: unknown): AgentSpan =>
    ({
      traceId: 'c'.repeat(31) + '1',
      spanId,
      parentSpanId: '',
      name: 'GET /slow',
      kind: 'server',
      startUnixNano: ns(T0 + 3_000),
      durationNs: 100_000_000,
      status: 'ok',
      statusMessage: '',
      labels: web,
      attributes: { 'http.request.method': 'GET' },
      breakdown,
    }) as AgentSpan;
  const breakdown = { onCpuNs: 20_000_000, runQueueNs: 5_000_000, throttledNs: 60_000_000, offCpuNs: 15_000_000, retransmits: 2 };
  const res = await post(
    '/api/v1/ingest/spans',
    Buffer.from(pack({ spans: [span('d'.repeat(15) + '1', breakdown), span('d'.repeat(15) + '2', { ...breakdown, offCpuNs: -1 })] })),
  );
  const body = res.body as AgentSpanBatchResponse;
  assert.equal(body.accepted, 1);
  assert.equal(body.rejected, 1);
  assert.match(body.rejectReason ?? '', /span 1: breakdown.offCpuNs is not a non-negative integer/);
  const trace = await getJson<TraceResponse>(app, `/api/v1/traces/${'c'.repeat(31)}1`);
  assert.equal(trace.status, 200);
  const [stored] = trace.body.spans;
  assert.deepEqual(stored?.breakdown, breakdown);
  assert.deepEqual(stored?.attributes, { 'http.request.method': 'GET' });
});
