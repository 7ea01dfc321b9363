// MySQL spans: the server's greeting first, authentication as no span, COM_QUERY, prepared
// statements named by the text bound to their id, result sets in both EOF shapes, ERR packets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, Connection, le32, mysql, tracker } from './spans-fixtures.js';

const le16 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff];
const greeting = mysql(0, [0x0a], '8.0.36', [0], le32(12), 'abcdefgh', [0], le16(0xf7ff));
const handshakeResponse = mysql(1, le32(0x01ffa685), le32(1 << 24), [33], new Array<number>(23).fill(0), 'app', [0]);
const ok = (seq: number) => mysql(seq, [0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
const eof = (seq: number) => mysql(seq, [0xfe, 0x00, 0x00, 0x02, 0x00]);
const columnDef = (seq: number) => mysql(seq, [3], 'def', [2], 'db', [1], 't', [1], 't', [2], 'id', [2], 'id');
/** A one-column, one-row result set, classic shape (EOF after the columns and after the rows). */
const resultSet = bytes(mysql(1, [1]), columnDef(2), eof(3), mysql(4, [1], '5'), eof(5));

test('client: greeting and authentication are no span; COM_QUERY with a result set, then quit and close', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 3306);
  c.read(greeting).write(handshakeResponse).read(ok(2));
  c.write(mysql(0, [0x03], "SELECT * FROM orders WHERE id = 5 AND note = 'x'"), { spanId: 0x10n });
  c.read(resultSet.subarray(0, 20));
  assert.equal(spans.length, 0, 'the result set is not over yet');
  c.read(resultSet.subarray(20));
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.name, 'SELECT * FROM orders WHERE id = ? AND note = ?');
  assert.equal(spans[0]?.attributes['db.system.name'], 'mysql');
  assert.equal(spans[0]?.attributes['db.operation.name'], 'SELECT');
  assert.equal(spans[0]?.parentSpanId, '0000000000000010');
  assert.equal(spans[0]?.durationNs, 2_000_000);
  c.write(mysql(0, [0x01])).close();
  assert.equal(spans.length, 1);
  assert.equal(t.stats.closedMidResponse, 0);
  assert.equal(t.stats.unparsed, 0);
});

test('prepared statements: EXECUTE is named by the text its PREPARE bound to the statement id', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 3306);
  c.read(greeting).write(handshakeResponse).read(ok(2));
  c.write(mysql(0, [0x16], 'UPDATE stock SET n = n - 1 WHERE sku = ?'));
  c.read(mysql(1, [0x00], le32(7), le16(0), le16(1), [0], le16(0)));
  c.read(bytes(mysql(2, [3], 'def'), eof(3)));
  c.write(mysql(0, [0x17], le32(7), [0], le32(1), [1], [0xfe, 0], [3], 'abc'));
  c.read(ok(1));
  c.write(mysql(0, [0x19], le32(7)));
  c.write(mysql(0, [0x03], 'SELECT 1'));
  c.read(bytes(mysql(1, [1]), columnDef(2), mysql(3, [1], '1'), mysql(4, [0xfe, 0, 0, 2, 0, 0, 0])));
  assert.deepEqual(
    spans.map((s) => s.name),
    ['UPDATE stock SET n = n - ? WHERE sku = ?', 'UPDATE stock SET n = n - ? WHERE sku = ?', 'SELECT ?'],
  );
  assert.equal(spans[1]?.durationNs, 1_000_000);
});

test('ERR packet: error span with code, SQLSTATE and message', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'client', 3306);
  c.write(mysql(0, [0x03], 'SELECT * FROM missing'));
  c.read(mysql(1, [0xff], le16(1146), '#42S02', "Table 'shop.missing' doesn't exist"));
  assert.equal(spans[0]?.status, 'error');
  assert.equal(spans[0]?.statusMessage, "Table 'shop.missing' doesn't exist");
  assert.equal(spans[0]?.attributes['db.response.status_code'], '1146');
  assert.equal(spans[0]?.attributes['db.response.sql_state'], '42S02');
});

test('server side: mysqld writes its greeting first, then reads queries as server spans', () => {
  const { tracker: t, spans } = tracker();
  const c = new Connection(t, 'server', 3306, { pid: 500, tid: 510 });
  c.write(greeting).read(handshakeResponse, { spanId: 1n }).write(ok(2));
  c.read(mysql(0, [0x03], 'DELETE FROM sessions WHERE expires < 1700000000'), { spanId: 0x99n });
  c.write(ok(1));
  assert.equal(spans.length, 1);
  assert.equal(spans[0]?.spanId, '0000000000000099');
  assert.equal(spans[0]?.name, 'DELETE FROM sessions WHERE expires < ?');
  assert.equal(spans[0]?.kind, 'server');
});

test('a connection closed in the middle of a result set is an error span', () => {
  const { tracker: t, spans } = tracker();
  new Connection(t, 'client', 3306)
    .write(mysql(0, [0x03], 'SELECT * FROM big'))
    .read(bytes(mysql(1, [1]), columnDef(2), eof(3), mysql(4, [1], '5')))
    .close();
  assert.equal(spans[0]?.status, 'error');
  assert.equal(spans[0]?.statusMessage, 'connection closed mid-response');
  assert.equal(t.stats.closedMidResponse, 1);
});
