// PostgreSQL spans from both ends: node-pg style clients (simple and extended query, named
// statements, errors, SSLRequest) and the backend reading queries, with real message bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, Connection, int16, int32, pg, pgStartup, tracker } from './spans-fixtures.js';

const ready = pg('Z', [73]); // ReadyForQuery, idle
const handshake = bytes(pg('R', int32(0)), pg('S', 'server_version', '16.2'), pg('K', int32(4242), int32(99)), ready);
/** Bind of the unnamed portal to `statement` with one text parameter. */
const bind = (statement: string, value: string) =>
  pg('B', '', statement, int16(0), int16(1), int32(value.length), Array.from(Buffer.from(value)), int16(0));
const execute = pg('E', '', int32(0));
const sync = pg('S');
const rows = bytes(pg('T', int16(0)), pg('D', int16(1), int32(1), [49]), pg('C', 'SELECT 1'), ready);

test('client: startup is no span; simple query named by its normalised text', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  c.write(pgStartup('app')).read(handshake);
  c.write(pg('Q', "SELECT * FROM users WHERE email = 'a@b.c' AND age > 30"), { spanId: 0x51n });
  c.read(rows);
  assert.equal(spans.length, 1);
  const s = spans[0]!;
  assert.equal(s.name, 'SELECT * FROM users WHERE email = ? AND age > ?');
  assert.equal(s.kind, 'client');
  assert.equal(s.parentSpanId, '0000000000000051');
  assert.equal(s.attributes['db.system.name'], 'postgresql');
  assert.equal(s.attributes['db.operation.name'], 'SELECT');
  assert.equal(s.attributes['network.peer.port'], '5432');
  assert.equal(s.durationNs, 1_000_000);
  assert.equal(t.stats.spans.postgresql, 1);
});

test('client: extended query Parse/Bind/Execute/Sync; a named statement is remembered for later Binds', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  c.write(
    bytes(pg('P', 'get_user', 'SELECT name FROM users WHERE id = $1', int16(0)), bind('get_user', '7'), pg('D', 'P', ''), execute, sync),
  );
  c.read(bytes(pg('1'), pg('2'), rows));
  c.write(bytes(bind('get_user', '8'), execute, sync));
  c.read(bytes(pg('2'), rows));
  assert.deepEqual(
    spans.map((s) => s.name),
    ['SELECT name FROM users WHERE id = $1', 'SELECT name FROM users WHERE id = $1'],
  );
});

test('client: an ErrorResponse makes an error span with SQLSTATE and message', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  c.write(pg('Q', 'SELECT * FROM missing'));
  c.read(bytes(pg('E', 'SERROR', 'VERROR', 'C42P01', 'Mrelation "missing" does not exist', 'P15', [0]), ready));
  assert.equal(spans[0]?.status, 'error');
  assert.equal(spans[0]?.statusMessage, 'ERROR: relation "missing" does not exist');
  assert.equal(spans[0]?.attributes['db.response.status_code'], '42P01');
  assert.equal(spans[0]?.attributes['error.type'], '42P01');
});

test('client: SSLRequest answered N, then plain startup; answered S, the connection is left alone', () => {
  const { tracker: t, spans } = tracker();
  const ssl = bytes(int32(8), int32(80877103));
  new Connection(t, 'client', 5432)
    .write(ssl)
    .read('N')
    .write(pgStartup('u'))
    .read(handshake)
    .write(pg('Q', 'BEGIN'))
    .read(bytes(pg('C', 'BEGIN'), ready));
  assert.deepEqual(
    spans.map((s) => s.name),
    ['BEGIN'],
  );
  new Connection(t, 'client', 5432)
    .write(ssl)
    .read('S')
    .write(Uint8Array.from({ length: 200 }, (_, i) => i))
    .read(new Uint8Array(100));
  assert.equal(spans.length, 1);
  assert.equal(t.stats.unparsed, 0);
});

test('pipelined simple queries pair with their ReadyForQuery in order; notices between responses are ignored', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  c.write(bytes(pg('Q', 'SELECT 1'), pg('Q', "DELETE FROM t WHERE k = 'x'")));
  c.read(bytes(pg('N', 'SNOTICE', 'Mhello', [0]), pg('C', 'SELECT 1'), ready, pg('E', 'SERROR', 'C23503', 'Mfk', [0])));
  c.read(ready);
  assert.deepEqual(
    spans.map((s) => [s.name, s.status]),
    [
      ['SELECT ?', 'unset'],
      ['DELETE FROM t WHERE k = ?', 'error'],
    ],
  );
});

test('server side: the backend reading a query is a server span with the kernel id, exact on its own thread', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 5432, { pid: 300, tid: 300 });
  c.read(pgStartup('app'), { spanId: 1n }).write(handshake);
  c.read(pg('Q', 'SELECT count(*) FROM big WHERE v % 7 = 3'), { spanId: 0xfeedn, at: 5000n * 1_000_000n });
  c.write(rows, { at: 7000n * 1_000_000n });
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.spanId, '000000000000feed');
  assert.equal(spans[0]?.kind, 'server');
  assert.equal(spans[0]?.name, 'SELECT count(*) FROM big WHERE v % ? = ?');
  assert.equal(spans[0]?.durationNs, 2_000_000_000);
  assert.equal(spans[0]?.attributes['kiln.attribution'], 'exact');
  assert.equal(spans[0]?.attributes['thread.id'], '300');
});

test('a query cut by the capture is still named; the rest of the message is skipped by its length', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  const long = pg('Q', `INSERT INTO logs (msg) VALUES ('${'z'.repeat(2000)}')`);
  c.write(long.subarray(0, 256), { bytes: long.length });
  c.read(bytes(pg('C', 'INSERT 0 1'), ready));
  assert.equal(spans[0]?.name, 'INSERT INTO logs (msg) VALUES (?');
  assert.equal(t.stats.unparsed, 0);
});

test('garbage on a PostgreSQL connection is counted and does not stop later queries', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  c.write(pg('Q', 'SELECT 1')).read(bytes(pg('C', 'SELECT 1'), ready));
  c.write(bytes([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]));
  c.write(pg('Q', 'SELECT 2')).read(bytes(pg('C', 'SELECT 1'), ready));
  assert.equal(spans.length, 2);
  assert.equal(t.stats.unparsed, 1);
});

test('a response cut by the capture before its ReadyForQuery still ends when the next request is answered', () => {
  // The handshake's ReadyForQuery lies past the captured prefix (the server sent more than the kernel copied).
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 5432);
  const cutHandshake = handshake.subarray(0, handshake.length - 6);
  c.write(pgStartup('app')).read(cutHandshake, { bytes: handshake.length + 150 });
  c.write(pg('Q', 'SELECT 1'));
  c.read(rows);
  c.write(pg('Q', 'SELECT 2'));
  c.read(rows);
  assert.deepEqual(
    spans.map((s) => [s.name, s.durationNs]),
    [
      ['SELECT ?', 1_000_000],
      ['SELECT ?', 1_000_000],
    ],
  );
});
