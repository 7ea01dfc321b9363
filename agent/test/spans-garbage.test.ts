// Bad input never throws: random bytes on every protocol's port, and valid messages cut by the
// capture or split between syscalls at every byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, Connection, int16, int32, mysql, pg, resp, tracker } from './spans-fixtures.js';

/** Deterministic bytes (a linear congruential generator), so a failure replays. */
function noise(seed: number, length: number): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 24;
  });
}

const conversations: [port: number, request: Uint8Array, response: Uint8Array][] = [
  [
    80,
    bytes('GET /a?b=c HTTP/1.1\r\nHost: h\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n'),
    bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
  ],
  [
    5432,
    bytes(pg('P', 's', 'SELECT $1', int16(0)), pg('B', '', 's', int16(0), int16(0), int16(0)), pg('E', '', int32(0)), pg('S')),
    bytes(pg('1'), pg('2'), pg('E', 'SERROR', 'C22P02', 'Mbad', [0]), pg('Z', [73])),
  ],
  [6379, bytes(resp('MGET', 'a', 'b')), bytes('*2\r\n$1\r\nx\r\n$-1\r\n')],
  [
    3306,
    mysql(0, [0x03], "SELECT 'x'"),
    bytes(mysql(1, [1]), mysql(2, [3], 'def'), mysql(3, [1], 'x'), mysql(4, [0xfe, 0, 0, 2, 0, 0, 0])),
  ],
];

test('random bytes on every port, from either end, are counted and never throw', () => {
  const { tracker: t, spans } = tracker();
  let seed = 1;
  for (const port of [80, 5432, 6379, 3306, 9999]) {
    for (const role of ['server', 'client'] as const) {
      const c = new Connection(t, role, port);
      for (let i = 0; i < 20; i++) {
        const payload = noise(seed++, 1 + (seed % 300));
        if (i % 2 === 0) c.read(payload, { spanId: BigInt(seed), bytes: payload.length + (i % 3) * 1000 });
        else c.write(payload, { bytes: payload.length + (i % 4) * 100 });
      }
      c.close();
    }
  }
  t.flush(1n << 62n);
  assert.ok(t.stats.unparsed > 0);
  for (const s of spans) assert.match(s.spanId, /^[0-9a-f]{16}$/);
});

test('valid exchanges cut by the capture or split between syscalls at every byte never throw', () => {
  for (const [port, request, response] of conversations) {
    for (let cut = 0; cut <= Math.max(request.length, response.length); cut++) {
      const { tracker: t } = tracker();
      const cutShort = new Connection(t, 'client', port);
      cutShort
        .write(request.subarray(0, cut), { bytes: request.length, spanId: 1n })
        .read(response.subarray(0, cut), { bytes: response.length });
      cutShort.close();
      const { tracker: split, spans } = tracker();
      const c = new Connection(split, 'client', port);
      c.write(request.subarray(0, cut), { spanId: 1n }).write(request.subarray(cut));
      c.read(response.subarray(0, cut)).read(response.subarray(cut));
      c.close();
      if (cut > 0) assert.equal(spans.length, 1, `port ${port}, split at ${cut}: one span`);
    }
  }
});
