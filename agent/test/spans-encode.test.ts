// The span batch the agent uploads reads back, with the server's plain msgpackr `unpack`, as the
// spans it was made from; span and trace ids are valid W3C ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { AgentSpan } from '@kiln/api/http';
import { unpack } from 'msgpackr';
import { SpanBatchEncoder } from '../src/spans/encode-batch.js';
import { randomSpanId, randomTraceId } from '../src/spans/ids.js';

// One object per process, as the tracker hands them over.
const labelSets = [0, 1].map((p) => ({ service: `svc-${p}`, pid: String(100 + p) }));

function span(i: number): AgentSpan {
  return {
    traceId: randomTraceId(),
    spanId: randomSpanId(),
    parentSpanId: i % 2 === 0 ? '' : randomSpanId(),
    // Multi-byte UTF-8 (SQL text), and names long enough for each string length form.
    name: i % 11 === 0 ? `SELECT 'é€😀' ${'x'.repeat(i % 400)}` : `GET /r${i % 5}`,
    kind: i % 3 === 0 ? 'client' : 'server',
    startUnixNano: String(1_700_000_000_000_000_000n + BigInt(i)),
    // Past 32 bits too (a request of minutes).
    durationNs: [0, 127, 128, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40][i % 7]! + i,
    status: i % 7 === 0 ? 'error' : 'unset',
    statusMessage: i % 7 === 0 ? 'connection closed mid-response' : '',
    labels: labelSets[i % 2]!,
    // Many shapes: more than msgpackr's 64 record slots.
    attributes: { 'http.request.method': 'GET', [`k${i % 100}`]: `v${i}` },
  };
}

test('a batch reads back with plain unpack, batch after batch from one encoder, whatever its size, strings and durations', () => {
  const encoder = new SpanBatchEncoder();
  for (const size of [0, 1, 300, 5000, 70_000]) {
    const spans = Array.from({ length: size }, (_, i) => span(i));
    assert.deepEqual(unpack(gunzipSync(encoder.encode(spans))), { spans });
  }
});

test('ids are lowercase hex of 8 and 16 bytes, and differ', () => {
  const spanIds = new Set<string>();
  const traceIds = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const s = randomSpanId();
    const t = randomTraceId();
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.doesNotMatch(s, /^0+$/);
    spanIds.add(s);
    traceIds.add(t);
  }
  assert.equal(spanIds.size, 5000);
  assert.equal(traceIds.size, 5000);
});
