// The tracker across connections: client calls join the trace of the server span their thread
// serves, overlapping server spans on one thread say so (and which stamps their samples carry),
// and memory stays bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KernelSpan } from '../src/spans/tracker.js';
import { Connection, MS, pg, resp, tracker } from './spans-fixtures.js';

const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

test('a client call made while serving a request is its child, in its trace', () => {
  const { tracker: t, spans } = tracker();
  const incoming = new Connection(t, 'server', 8080);
  const redis = new Connection(t, 'client', 6379);
  incoming.read('GET /cart HTTP/1.1\r\nHost: h\r\ntraceparent: 00-11111111111111111111111111111111-2222222222222222-01\r\n\r\n', {
    spanId: 0xaan,
    at: 10n * MS,
  });
  redis.write(resp('HGETALL', 'cart:1'), { spanId: 0xaan, at: 11n * MS }).read('*0\r\n', { at: 12n * MS });
  incoming.write(ok, { at: 13n * MS });
  const [client, server] = spans;
  assert.equal(client?.kind, 'client');
  assert.equal(client?.parentSpanId, '00000000000000aa');
  assert.equal(client?.traceId, '11111111111111111111111111111111');
  assert.equal(server?.spanId, '00000000000000aa');
  assert.equal(server?.parentSpanId, '2222222222222222');
  // Without a parent stamp the client span is a root of its own trace.
  new Connection(t, 'client', 6379).write(resp('PING')).read('+PONG\r\n');
  assert.equal(spans[2]?.parentSpanId, '');
  assert.notEqual(spans[2]?.traceId, '11111111111111111111111111111111');
});

test('an event loop serving two requests at once: thread-window attribution, overlap counts and stamps', () => {
  const { tracker: t, spans } = tracker();
  const loop = { pid: 200, tid: 200 };
  const a = new Connection(t, 'server', 3000, loop);
  const b = new Connection(t, 'server', 3000, loop);
  const c = new Connection(t, 'server', 3000, loop);
  a.read('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 0xa1n, at: 0n });
  b.read('GET /fast HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 0xb1n, at: 50n * MS });
  b.write(ok, { at: 60n * MS });
  a.write(ok, { at: 200n * MS });
  c.read('GET /later HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 0xc1n, at: 300n * MS });
  c.write(ok, { at: 310n * MS });
  const byName = new Map(spans.map((s) => [s.name, s.attributes]));
  assert.equal(byName.get('GET /fast')?.['kiln.attribution'], 'thread-window');
  assert.equal(byName.get('GET /fast')?.['kiln.overlapped'], '1');
  assert.equal(byName.get('GET /fast')?.['kiln.stamps'], undefined, 'only its own stamp began inside its window');
  assert.equal(byName.get('GET /slow')?.['kiln.attribution'], 'thread-window');
  assert.equal(byName.get('GET /slow')?.['kiln.overlapped'], '1');
  assert.equal(byName.get('GET /slow')?.['kiln.stamps'], '00000000000000a1,00000000000000b1');
  assert.equal(byName.get('GET /later')?.['kiln.attribution'], 'exact');
  assert.equal(byName.get('GET /later')?.['kiln.overlapped'], '0');
});

test('threads of a thread-per-request server are exact, whatever runs at the same time', () => {
  const { tracker: t, spans } = tracker();
  const one = new Connection(t, 'server', 8000, { pid: 1, tid: 11 });
  const two = new Connection(t, 'server', 8000, { pid: 1, tid: 12 });
  one.read('GET /a HTTP/1.1\r\n\r\n', { spanId: 1n, at: 0n });
  two.read('GET /b HTTP/1.1\r\n\r\n', { spanId: 2n, at: 1n * MS });
  one.write(ok, { at: 5n * MS });
  two.write(ok, { at: 6n * MS });
  assert.deepEqual(
    spans.map((s) => s.attributes['kiln.attribution']),
    ['exact', 'exact'],
  );
});

test('a connection closed before any response: an error span for each waiting request', () => {
  const { tracker: t, spans } = tracker();
  new Connection(t, 'client', 5432).write(pg('Q', 'SELECT 1')).write(pg('Q', 'SELECT 2')).read(pg('C', 'SELECT 1')).close();
  assert.deepEqual(
    spans.map((s) => [s.name, s.status, s.statusMessage]),
    [
      ['SELECT ?', 'error', 'connection closed mid-response'],
      ['SELECT ?', 'error', 'connection closed before the response'],
    ],
  );
  assert.equal(t.stats.closedMidResponse, 2);
});

test('bounded memory: the least recently active connection and the oldest queued request are evicted and counted', () => {
  const { tracker: t, spans } = tracker({ maxConnections: 2, maxQueuedRequests: 2 });
  const first = new Connection(t, 'client', 6379);
  first.write(resp('GET', 'a'));
  new Connection(t, 'client', 6379).write(resp('GET', 'b'));
  new Connection(t, 'client', 6379).write(resp('GET', 'c'));
  assert.equal(t.stats.evictedConnections, 1);
  first.read('$1\r\nx\r\n');
  assert.equal(spans.length, 0, 'the evicted connection starts over: a reply to nothing asked');
  const q = new Connection(t, 'client', 6379);
  q.write(resp('GET', '1') + resp('GET', '2') + resp('SET', '3', 'v'));
  q.read('$1\r\nx\r\n$1\r\ny\r\n');
  assert.equal(t.stats.evictedRequests, 1);
  assert.deepEqual(
    spans.map((s) => s.name),
    ['GET', 'SET'],
  );
});

test('known traces are bounded: a client call joins the trace of a recent server span, not of one forgotten', () => {
  const { tracker: t, spans } = tracker({ maxKnownTraces: 2 });
  const incoming = new Connection(t, 'server', 8080);
  const traceOf = (i: number): string => `${String(i).repeat(32)}`;
  for (let i = 1; i <= 3; i++) {
    incoming.read(`GET /${i} HTTP/1.1\r\nHost: h\r\ntraceparent: 00-${traceOf(i)}-2222222222222222-01\r\n\r\n`, { spanId: BigInt(i) });
    incoming.write(ok);
  }
  const calls = [1n, 2n, 3n].map((parent) => {
    new Connection(t, 'client', 6379).write(resp('PING'), { spanId: parent }).read('+PONG\r\n');
    return spans.at(-1)!;
  });
  assert.notEqual(calls[0]?.traceId, traceOf(1));
  assert.equal(calls[0]?.parentSpanId, '0000000000000001');
  assert.deepEqual(
    calls.slice(1).map((c) => c.traceId),
    [traceOf(2), traceOf(3)],
  );
});

test('a server span the kernel stamped comes with its kernel id, monotonic times and connection; others without', () => {
  const kernels: (KernelSpan | undefined)[] = [];
  const { tracker: t } = tracker({ onSpan: (_span, kernel) => kernels.push(kernel) });
  const incoming = new Connection(t, 'server', 8080);
  incoming.read('GET /a HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 0xa1n, at: 10n * MS });
  new Connection(t, 'client', 6379).write(resp('PING'), { spanId: 0xa1n, at: 11n * MS }).read('+PONG\r\n', { at: 12n * MS });
  incoming.write(ok, { at: 13n * MS });
  // Read before the kernel stamped anything (capture began mid-connection): an id of the agent's own.
  new Connection(t, 'server', 8080).read('GET /b HTTP/1.1\r\nHost: h\r\n\r\n', { at: 20n * MS }).write(ok, { at: 21n * MS });
  assert.deepEqual(kernels, [
    undefined,
    {
      id: 0xa1n,
      startNs: 10n * MS,
      endNs: 13n * MS,
      localAddress: '10.0.0.1',
      localPort: 8080,
      remoteAddress: '10.0.0.2',
      remotePort: 40000,
    },
    undefined,
  ]);
});
