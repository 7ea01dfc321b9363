// The server's TSV writing for inserts: numbers and binary fields as ClickHouse reads them back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool, TsvWriter } from '../src/ingest/tsv.js';

test('TsvWriter.integer writes what String() writes, for every magnitude and sign', () => {
  const values = [0, -0, 1, -1, 9, 10, 99, 100, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 60, 1e21, -1e21, 1e300];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 20_000; i++) values.push(Math.round((random() - 0.3) * 10 ** Math.floor(random() * 17)));
  const w = new TsvWriter(8); // small: it has to grow
  const want: string[] = [];
  for (const v of values) {
    w.integer(v);
    w.tab();
    want.push(`${v}\t`);
  }
  assert.equal(w.result().toString(), want.join(''));
});

test('TsvWriter.escapedBytes escapes tab, newline, carriage return and backslash, so binary data reads back unchanged', () => {
  const w = new TsvWriter(4);
  w.escapedBytes(Buffer.from([0, 9, 10, 13, 92, 65, 255, 92, 92, 9]));
  w.escapedBytes(Buffer.from([1, 2, 3]));
  w.escapedBytes(Buffer.alloc(0));
  w.escapedBytes(Buffer.from([92, 13]));
  assert.deepEqual(
    w.result(),
    Buffer.from([0, 92, 116, 92, 110, 92, 114, 92, 92, 65, 255, 92, 92, 92, 92, 92, 116, 1, 2, 3, 92, 92, 92, 114]),
  );
});

test('TsvWriter.escapedBytes: random binary data unescapes to itself', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 200; n++) {
    const data = Buffer.from(
      Array.from({ length: Math.floor(random() * 3000) }, () =>
        random() < 0.1 ? [9, 10, 13, 92][Math.floor(random() * 4)]! : Math.floor(random() * 256),
      ),
    );
    const w = new TsvWriter(16);
    w.escapedBytes(data);
    const escaped = w.result();
    const back: number[] = [];
    for (let i = 0; i < escaped.length; i++) {
      if (escaped[i] !== 92) back.push(escaped[i]!);
      else back.push({ 116: 9, 110: 10, 114: 13, 92: 92 }[escaped[++i]!]!);
    }
    assert.deepEqual(Buffer.from(back), data);
    assert.ok(!escaped.includes(9) && !escaped.includes(10) && !escaped.includes(13), 'no raw tab, newline or carriage return left');
  }
});

test('TsvWriter with a BufferPool: a released buffer is reused, and only what was written is the result', () => {
  const pool = new BufferPool(2, 1 << 20);
  const a = new TsvWriter(1000, pool);
  a.text('first\trow');
  a.newline();
  const first = a.result();
  assert.equal(first.toString(), 'first\trow\n');
  const underlying = first.buffer;
  a.release();
  const b = new TsvWriter(500, pool); // fits in the released buffer
  b.text('x');
  assert.equal(b.result().toString(), 'x');
  assert.equal(b.result().buffer, underlying, 'the released buffer is taken again');
  const c = new TsvWriter(5000, pool); // too big for anything free: a new buffer
  assert.notEqual(c.result().buffer, underlying);
  c.text('y'.repeat(10_000)); // grows past its buffer
  assert.equal(c.result().length, 10_000);
  b.release();
  c.release();
  const big = new TsvWriter(2 << 20, pool);
  big.release(); // over the pool's 1 MiB limit: not kept
  const d = new TsvWriter(9000, pool);
  assert.ok(d.result().buffer.byteLength >= 9000 && d.result().buffer.byteLength < 2 << 20);
});
