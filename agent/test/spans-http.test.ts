// HTTP/1.x server and client spans from socket events: request line, Host, traceparent, status,
// pipelining, split and cut captures, garbage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitTarget } from '../src/spans/http.js';
import { bytes, Connection, EPOCH_NS, MS, tracker } from './spans-fixtures.js';

const ok = (body: string) => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

test('server span: method, path without query values, host, status, kernel span id, duration', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 8080);
  c.read('GET /search?q=secret&page=2 HTTP/1.1\r\nHost: shop.example:8080\r\nAccept: */*\r\n\r\n', { spanId: 0xabcn, at: 10n * MS });
  c.write(ok('hello'), { spanId: 0xabcn, at: 25n * MS });
  assert.equal(spans.length, 1);
  const s = spans[0]!;
  assert.equal(s.name, 'GET /search');
  assert.equal(s.kind, 'server');
  assert.equal(s.spanId, '0000000000000abc');
  assert.match(s.traceId, /^[0-9a-f]{32}$/);
  assert.equal(s.parentSpanId, '');
  assert.equal(s.startUnixNano, (EPOCH_NS + 10n * MS).toString());
  assert.equal(s.durationNs, 15_000_000);
  assert.equal(s.status, 'unset');
  assert.deepEqual(s.labels, { service: 'svc-100' });
  assert.deepEqual(
    { ...s.attributes },
    {
      'http.request.method': 'GET',
      'url.path': '/search',
      'url.query': 'q=?&page=?',
      'server.address': 'shop.example',
      'server.port': '8080',
      'http.response.status_code': '200',
      'network.peer.address': '10.0.0.2',
      'network.peer.port': '40000',
      'process.pid': '100',
      'thread.id': '101',
      'kiln.attribution': 'exact',
      'kiln.overlapped': '0',
    },
  );
  assert.equal(t.stats.spans.http, 1);
});

test('traceparent gives the server span its trace and parent', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 80);
  c.read(
    'POST /orders HTTP/1.1\r\nHost: a\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 2\r\n\r\n{}',
    { spanId: 5n },
  );
  c.write('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
  assert.equal(spans[0]?.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(spans[0]?.parentSpanId, 'b7ad6b7169203331');
  assert.equal(spans[0]?.status, 'error');
  assert.equal(spans[0]?.attributes['error.type'], '503');
});

test('pipelining: several requests in one read, several responses in one write, paired in order', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 80);
  c.read('GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nDELETE /c/1 HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 77n });
  c.write(ok('A') + 'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop' + ok('C'));
  assert.deepEqual(
    spans.map((s) => [s.name, s.attributes['http.response.status_code'], s.status]),
    [
      ['GET /a', '200', 'unset'],
      ['GET /b', '404', 'unset'],
      ['DELETE /c/1', '200', 'unset'],
    ],
  );
  // The first is the kernel's span; the others get ids of their own.
  assert.equal(spans[0]?.spanId, '000000000000004d');
  assert.equal(new Set(spans.map((s) => s.spanId)).size, 3);
});

test('a request split over many small reads is one span starting at its first byte', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 80);
  const request = 'GET /split/path HTTP/1.1\r\nHost: h\r\nX-Long: ' + 'x'.repeat(50) + '\r\n\r\n';
  for (let i = 0; i < request.length; i += 3) c.read(request.slice(i, i + 3), i === 0 ? { spanId: 9n, at: 100n * MS } : {});
  c.write(ok('done'), { at: 500n * MS });
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.name, 'GET /split/path');
  assert.equal(spans[0]?.spanId, '0000000000000009');
  assert.equal(spans[0]?.durationNs, 400_000_000);
});

test('a capture cut mid-header still names the span; the uncaptured body is skipped by count', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 80);
  const head = 'PUT /upload HTTP/1.1\r\nHost: files\r\nCookie: ' + 'c'.repeat(300);
  c.write(head.slice(0, 256), { bytes: 5000, spanId: 3n });
  c.read('HTTP/1.1 201 Created\r\nContent-Length: 10000\r\n\r\n', { bytes: 5000, at: c.now + 2n * MS });
  c.read(new Uint8Array(256), { bytes: 5047, at: c.now + 3n * MS });
  assert.equal(spans.length, 1, 'the response ends when its body has been skipped');
  assert.equal(spans[0]?.name, 'PUT /upload');
  assert.equal(spans[0]?.kind, 'client');
  assert.equal(spans[0]?.parentSpanId, '0000000000000003');
  assert.equal(spans[0]?.durationNs, 5_000_000);
  assert.equal(t.stats.unparsed, 0);
});

test('client span: chunked response ends at its last chunk; 4xx is an error for a client', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 80);
  c.write('GET /items HTTP/1.1\r\nHost: api\r\n\r\n');
  c.read('HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n');
  assert.equal(spans.length, 0);
  c.read('0\r\n\r\n');
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.status, 'error');
  assert.equal(spans[0]?.durationNs, 2_000_000);
});

test('a response without length ends at close; a close mid-body is an error saying so', () => {
  const { tracker: t, spans } = tracker();
  new Connection(t, 'client', 80).write('GET /old HTTP/1.1\r\nHost: h\r\n\r\n').read('HTTP/1.0 200 OK\r\n\r\nbody').read('more').close();
  assert.equal(spans[0]?.status, 'unset');
  assert.equal(spans[0]?.durationNs, 2_000_000);

  const c = new Connection(t, 'server', 80);
  c.read('GET /big HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 1n })
    .write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n', { bytes: 4000 })
    .close();
  assert.equal(spans[1]?.status, 'error');
  assert.equal(spans[1]?.statusMessage, 'connection closed mid-response');
  assert.equal(t.stats.closedMidResponse, 1);
});

test('quiet flush ends a response whose end cannot be seen', () => {
  const { tracker: t, spans } = tracker({ quietNs: 100n * MS });
  const c = new Connection(t, 'server', 80);
  c.read('GET /stream HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 1n, at: 0n }).write('HTTP/1.1 200 OK\r\n\r\n', { at: 10n * MS });
  c.write('data: 1\n\n', { at: 20n * MS });
  t.flush(119n * MS);
  assert.equal(spans.length, 0);
  t.flush(120n * MS);
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.durationNs, 20_000_000);
});

test('garbage and malformed HTTP are counted, never thrown, and lose nothing else', () => {
  const { tracker: t, spans } = tracker();
  const binary = Uint8Array.from({ length: 256 }, (_, i) => (i * 7919) % 256);
  const g = new Connection(t, 'server', 80);
  for (let i = 0; i < 6; i++) g.read(binary, { spanId: BigInt(i + 1) });
  g.read('GET / HTTP/1.1\r\n\r\n');
  assert.equal(t.stats.unparsed, 4, 'four detection attempts, then the connection is ignored');
  const h = new Connection(t, 'server', 80);
  h.read('GET /ok HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 1n }).write(ok('x'));
  h.read(bytes('\x16\x03\x01', binary), { spanId: 2n });
  h.read('GET /after HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 3n }).write(ok('y'));
  assert.deepEqual(
    spans.map((s) => s.name),
    ['GET /ok', 'GET /after'],
  );
  assert.equal(t.stats.unparsed, 5);
});

test('splitTarget: absolute form, no query, empty pairs', () => {
  assert.deepEqual(splitTarget('http://h:1/p?a=1&&b'), { path: '/p', query: 'a=?&b=?' });
  assert.deepEqual(splitTarget('/x#frag'), { path: '/x', query: undefined });
  assert.deepEqual(splitTarget('http://h'), { path: '/', query: undefined });
});

test('HEAD has no body whatever its Content-Length; 100 Continue is no response; a WebSocket upgrade ends parsing', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 80);
  c.write('HEAD /file HTTP/1.1\r\nHost: h\r\n\r\n').read('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n');
  c.write('POST /form HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n').read('HTTP/1.1 100 Continue\r\n\r\n');
  c.write('a=1').read('HTTP/1.1 204 No Content\r\n\r\n');
  c.write('GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n').read(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
  );
  c.write(Uint8Array.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9])).read(Uint8Array.from([0x81, 0x02, 0x68, 0x69]));
  assert.deepEqual(
    spans.map((s) => [s.name, s.attributes['http.response.status_code'], s.durationNs]),
    [
      ['HEAD /file', '200', 1_000_000],
      ['POST /form', '204', 3_000_000],
      ['GET /ws', '101', 1_000_000],
    ],
  );
  assert.equal(t.stats.unparsed, 0);
});

test('header names match whatever their case and surrounding blanks; a repeated header: the last one counts', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 80);
  c.read(
    'POST /a HTTP/1.1\r\nX-Host: wrong\r\nHOST: first\r\n host \t: shop.example\r\nTRACEPARENT: 00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01\r\n' +
      'Content-length: 3\r\n\r\nabc',
    { spanId: 7n },
  );
  c.write('HTTP/1.1 200 OK\r\ntransfer-ENCODING: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  c.read('GET /b HTTP/1.1\r\nHost: h\r\n\r\n', { spanId: 8n });
  c.write(ok(''));
  assert.deepEqual(
    spans.map((s) => [s.name, s.attributes['server.address'], s.traceId, s.attributes['http.response.status_code']]),
    [
      ['POST /a', 'shop.example', '0af7651916cd43dd8448eb211c80319c', '200'],
      ['GET /b', 'h', spans[1]?.traceId, '200'],
    ],
  );
  // Both responses were framed (Content-Length of the request body, chunked response): nothing was left unparsed.
  assert.equal(t.stats.unparsed, 0);
});
