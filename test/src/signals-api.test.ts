// Kernel signals through a real `kiln server` on embedded ClickHouse: the agent's msgpack batches
// (POST /api/v1/ingest/signals) read back per kind from /api/v1/signals (total, series, top list,
// the kernel's cpu.stat counters) and /api/v1/signals/episodes, filtered by selector; bad bodies
// refused whole, a bad record alone; and a span's latency breakdown through the traces API.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import type {
  AgentSignalBatch,
  AgentSignalBatchResponse,
  AgentSpan,
  AgentSpanBatchResponse,
  SignalEpisodesResponse,
  SignalsResponse,
  TraceResponse,
} from '@kiln/api/http';
import { pack } from 'msgpackr';
import { startServer, type KilnServer } from './lib/kiln.js';
import { getJson } from './lib/server-api.js';

const TIMEOUT = 120_000;
let server: KilnServer;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function post<T>(path: string, body: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/msgpack', ...headers },
  });
  return { status: res.status, body: (await res.json()) as T & { error?: string } };
}

const T0 = (Math.floor(Date.now() / 1000) - 300) * 1000;
const range = { from: T0 - 30_000, until: T0 + 90_000 };
const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
const shop = { service: 'e2e-shop', node: 'e2e-node', pod: 'shop-1' };
const batch = { service: 'e2e-batch', node: 'e2e-node', pod: 'batch-1' };

const signals: AgentSignalBatch = {
  waits: [
    {
      kind: 'throttle',
      cgroup: '/kubepods/shop',
      labels: shop,
      timeUnixMs: T0 + 10_000,
      intervalMs: 10_000,
      totalNs: 80_000_000,
      count: 40,
      histogram: [0, 0, 5, 35],
    },
    {
      kind: 'throttle',
      cgroup: '/kubepods/shop',
      labels: shop,
      timeUnixMs: T0 + 20_000,
      intervalMs: 10_000,
      totalNs: 20_000_000,
      count: 10,
      histogram: [0, 0, 5, 5],
    },
    {
      kind: 'throttle',
      cgroup: '/kubepods/batch',
      labels: batch,
      timeUnixMs: T0 + 20_000,
      intervalMs: 10_000,
      totalNs: 5_000_000,
      count: 3,
      histogram: [3],
    },
    {
      kind: 'runqueue',
      cgroup: '/kubepods/batch',
      labels: batch,
      timeUnixMs: T0 + 10_000,
      intervalMs: 10_000,
      totalNs: 7_000_000,
      count: 700,
      histogram: [700],
    },
  ],
  episodes: [
    {
      kind: 'throttle',
      cgroup: '/kubepods/shop',
      labels: shop,
      startUnixNano: ns(T0 + 4_000),
      durationNs: 12_000_000,
      pid: 42,
      tid: 43,
      comm: 'shop-worker',
      spanId: 'ab'.repeat(8),
    },
    {
      kind: 'throttle',
      cgroup: '/kubepods/shop',
      labels: shop,
      startUnixNano: ns(T0 + 14_000),
      durationNs: 30_000_000,
      pid: 42,
      tid: 44,
      comm: 'shop-worker',
      spanId: '',
    },
    {
      kind: 'runqueue',
      cgroup: '/kubepods/batch',
      labels: batch,
      startUnixNano: ns(T0 + 5_000),
      durationNs: 6_000_000,
      pid: 77,
      tid: 77,
      comm: 'cruncher',
      spanId: '',
    },
  ],
  cpuStats: [
    {
      cgroup: '/kubepods/shop',
      labels: shop,
      timeUnixMs: T0 + 10_000,
      intervalMs: 10_000,
      periods: 100,
      throttledPeriods: 60,
      throttledNs: 85_000_000,
      quotaUs: 10_000,
      periodUs: 100_000,
    },
    {
      cgroup: '/kubepods/shop',
      labels: shop,
      timeUnixMs: T0 + 20_000,
      intervalMs: 10_000,
      periods: 100,
      throttledPeriods: 20,
      throttledNs: 19_000_000,
      quotaUs: 10_000,
      periodUs: 100_000,
    },
  ],
  retransmits: [
    {
      timeUnixMs: T0 + 10_000,
      firstUnixNano: ns(T0 + 2_000),
      lastUnixNano: ns(T0 + 9_000),
      segments: 190,
      hits: 9,
      family: 'ipv6',
      localAddress: 'fd00::1',
      localPort: 40000,
      remoteAddress: 'fd00::2',
      remotePort: 443,
      state: 'ESTABLISHED',
      synack: false,
      pid: 42,
      tid: 42,
      comm: 'shop-worker',
      cgroup: '/kubepods/shop',
      labels: shop,
    },
  ],
};

test(
  'a signal batch is stored whole and read back per kind: totals, series, top lists, cpu.stat, episodes, connections',
  { timeout: TIMEOUT },
  async () => {
    const stored = await post<AgentSignalBatchResponse>('/api/v1/ingest/signals', gzipSync(pack(signals)), { 'content-encoding': 'gzip' });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.deepEqual(stored.body, { accepted: 10, rejected: 0 });

    const throttle = await getJson<SignalsResponse>(server.url, '/api/v1/signals', {
      kind: 'throttle',
      query: '{}',
      ...range,
      maxPoints: 12,
    });
    assert.equal(throttle.status, 200, JSON.stringify(throttle.body));
    assert.equal(throttle.body.total, 105_000_000);
    assert.ok(throttle.body.values.length <= 12);
    assert.equal(
      throttle.body.values.reduce((a, b) => a + b, 0),
      105_000_000,
    );
    assert.equal(throttle.body.fromMs % throttle.body.stepMs, 0);
    assert.deepEqual(
      throttle.body.top.map((t) => [t.name, t.value]),
      [
        ['e2e-shop (/kubepods/shop)', 100_000_000],
        ['e2e-batch (/kubepods/batch)', 5_000_000],
      ],
    );
    assert.deepEqual(throttle.body.kernel, { throttledNs: 104_000_000, throttledPeriods: 80, periods: 200 });

    const shopOnly = await getJson<SignalsResponse>(server.url, '/api/v1/signals', { kind: 'throttle', query: '{pod="shop-1"}', ...range });
    assert.equal(shopOnly.body.total, 100_000_000);
    assert.deepEqual(
      shopOnly.body.top.map((t) => t.service),
      ['e2e-shop'],
    );

    const runqueue = await getJson<SignalsResponse>(server.url, '/api/v1/signals', {
      kind: 'runqueue',
      query: '{service="e2e-batch"}',
      ...range,
    });
    assert.equal(runqueue.body.total, 7_000_000);
    assert.equal(runqueue.body.kernel, undefined);

    const retransmit = await getJson<SignalsResponse>(server.url, '/api/v1/signals', { kind: 'retransmit', ...range });
    assert.equal(retransmit.body.unit, 'segments');
    assert.equal(retransmit.body.total, 190);
    assert.equal(retransmit.body.top[0]?.name, '[fd00::1]:40000 → [fd00::2]:443');
    assert.equal(retransmit.body.top[0]?.connection?.comm, 'shop-worker');

    const episodes = await getJson<SignalEpisodesResponse>(server.url, '/api/v1/signals/episodes', { kind: 'throttle', ...range });
    assert.deepEqual(
      episodes.body.episodes.map((e) => [e.durationNs, e.tid, e.spanId]),
      [
        [30_000_000, 44, ''],
        [12_000_000, 43, 'ab'.repeat(8)],
      ],
    );
    const batchEpisodes = await getJson<SignalEpisodesResponse>(server.url, '/api/v1/signals/episodes', {
      kind: 'runqueue',
      query: '{service="e2e-shop"}',
      ...range,
    });
    assert.deepEqual(batchEpisodes.body.episodes, []);
    const connections = await getJson<SignalEpisodesResponse>(server.url, '/api/v1/signals/episodes', { kind: 'retransmit', ...range });
    assert.deepEqual(
      connections.body.connections.map((c) => [c.segments, c.pid, c.service, c.first, c.last]),
      [[190, 42, 'e2e-shop', T0 + 2_000, T0 + 9_000]],
    );
  },
);

test(
  'bad input: garbage, a non-batch, a wrong content type and bad parameters are refused; one bad record costs only itself',
  { timeout: TIMEOUT },
  async () => {
    const garbage = await post('/api/v1/ingest/signals', Buffer.from('definitely not msgpack \xc1'));
    assert.equal(garbage.status, 400);
    const notBatch = await post('/api/v1/ingest/signals', pack({ waits: [] }));
    assert.equal(notBatch.status, 400);
    assert.match(notBatch.body.error ?? '', /not a signal batch/);
    const json = await post('/api/v1/ingest/signals', Buffer.from(JSON.stringify(signals)), { 'content-type': 'application/json' });
    assert.equal(json.status, 415);

    const at = T0 + 60_000;
    const partly = await post<AgentSignalBatchResponse>(
      '/api/v1/ingest/signals',
      pack({
        ...signals,
        waits: [
          { ...signals.waits[0], timeUnixMs: at, labels: { service: 'e2e-partly' } },
          { ...signals.waits[0], timeUnixMs: at, labels: { service: 'e2e-partly' }, totalNs: -5 },
        ],
        episodes: [],
        cpuStats: [],
        retransmits: [],
      }),
    );
    assert.equal(partly.status, 200, JSON.stringify(partly.body));
    assert.deepEqual(partly.body, { accepted: 1, rejected: 1, rejectReason: 'waits 1: totalNs is not a non-negative integer' });
    const partlyStored = await getJson<SignalsResponse>(server.url, '/api/v1/signals', {
      kind: 'throttle',
      query: '{service="e2e-partly"}',
      ...range,
    });
    assert.equal(partlyStored.body.total, 80_000_000);

    const badKind = await getJson<{ error: string }>(server.url, '/api/v1/signals', { kind: 'iowait', ...range });
    assert.equal(badKind.status, 400);
    assert.match(badKind.body.error, /kind/);
    const backwards = await getJson<{ error: string }>(server.url, '/api/v1/signals/episodes', {
      kind: 'throttle',
      from: range.until,
      until: range.from,
    });
    assert.equal(backwards.status, 400);
    assert.match(backwards.body.error, /from must be before until/);
  },
);

test('a span sent with its latency breakdown comes back with it from the trace', { timeout: TIMEOUT }, async () => {
  const traceId = 'e2e0'.repeat(8);
  const span: AgentSpan = {
    traceId,
    spanId: 'e2e1'.repeat(4),
    parentSpanId: '',
    name: 'GET /slow',
    kind: 'server',
    startUnixNano: ns(T0 + 4_000),
    durationNs: 50_000_000,
    status: 'ok',
    statusMessage: '',
    labels: shop,
    attributes: { 'http.request.method': 'GET', 'kiln.attribution': 'exact' },
    breakdown: { onCpuNs: 8_000_000, runQueueNs: 2_000_000, throttledNs: 30_000_000, offCpuNs: 10_000_000, retransmits: 3 },
  };
  const stored = await post<AgentSpanBatchResponse>('/api/v1/ingest/spans', pack({ spans: [span] }));
  assert.deepEqual(stored.body, { accepted: 1, rejected: 0 });
  const trace = await getJson<TraceResponse>(server.url, `/api/v1/traces/${traceId}`);
  assert.equal(trace.status, 200, JSON.stringify(trace.body));
  const [back] = trace.body.spans;
  assert.deepEqual(back?.breakdown, span.breakdown);
  assert.deepEqual(back?.attributes, span.attributes);
});
