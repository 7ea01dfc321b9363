// The server's TSV writing for inserts: numbers and binary fields as ClickHouse reads them back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pushTsvBytes, TsvWriter } from '@kiln/server/dist/ingest/tsv.js';

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

test('pushTsvBytes escapes only tab, newline and backslash, so binary data reads back unchanged', () => {
  const data = Buffer.from([0, 9, 10, 13, 92, 65, 255, 92, 92, 9]);
  const out: Buffer[] = [];
  pushTsvBytes(out, data);
  assert.deepEqual(Buffer.concat(out), Buffer.from([0, 92, 116, 92, 110, 13, 92, 92, 65, 255, 92, 92, 92, 92, 92, 116]));
});
