// Unit tests of the Traces pages' helpers (web/src/lib/traces.ts), run under node:test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '@kiln/api/http';
import { attributionOf, cellsBox, formatBox, formatDurationNs, inBox, parseBox, parseDurationNs, waterfall } from '../src/lib/traces';

const T0 = 1_700_000_000_000;

function span(spanId: string, parentSpanId: string, start: number, durationMs: number, attributes: Record<string, string> = {}): Span {
  return {
    traceId: '0'.repeat(31) + '1',
    spanId,
    parentSpanId,
    name: `op ${spanId}`,
    kind: 'server',
    service: 'api',
    start: T0 + start,
    durationNs: durationMs * 1e6,
    status: 'unset',
    statusMessage: '',
    source: 'ebpf',
    cpuSamples: 0,
    resourceAttributes: {},
    attributes,
  };
}

test('durations read in the unit that fits', () => {
  assert.equal(formatDurationNs(250), '250 ns');
  assert.equal(formatDurationNs(1_500), '1.5 µs');
  assert.equal(formatDurationNs(2_345_000), '2.35 ms');
  assert.equal(formatDurationNs(212_000_000), '212 ms');
  assert.equal(formatDurationNs(1_240_000_000), '1.24 s');
  assert.equal(parseDurationNs('250ms'), 250e6);
  assert.equal(parseDurationNs('1.5s'), 1.5e9);
  assert.ok(Number.isNaN(parseDurationNs('fast')));
});

test('waterfall: children under their parent by start; an orphan is a root; a parent cycle still ends', () => {
  const w = waterfall([
    span('c2', 'r', 50, 10),
    span('r', '', 0, 100),
    span('c1', 'r', 10, 20),
    span('g', 'c1', 12, 5),
    span('o', 'missing', 30, 5),
    span('x', 'y', 200, 1),
    span('y', 'x', 201, 1),
  ]);
  assert.deepEqual(
    w.rows.map((r) => [r.span.spanId, r.depth]),
    [
      ['r', 0],
      ['c1', 1],
      ['g', 2],
      ['c2', 1],
      ['o', 0],
      ['x', 0],
      ['y', 1],
    ],
  );
  assert.equal(w.rows[1]!.offsetMs, 10);
  assert.equal(w.totalMs, 202);
  assert.deepEqual(waterfall([]), { rows: [], totalMs: 0 });
});

test('attribution: the kiln.* attributes of an agent span; none on an SDK span', () => {
  assert.deepEqual(
    attributionOf(span('a', '', 0, 1, { 'kiln.attribution': 'thread-window', 'kiln.overlapped': '3', 'kiln.stamps': 'b,c' })),
    {
      mode: 'thread-window',
      overlapped: 3,
      stamps: ['b', 'c'],
    },
  );
  assert.deepEqual(attributionOf(span('a', '', 0, 1, { 'kiln.attribution': 'exact' })), {
    mode: 'exact',
    overlapped: undefined,
    stamps: [],
  });
  assert.equal(attributionOf(span('a', '', 0, 1)), undefined);
});

test('heatmap box: cells to time × duration, through the URL, and which spans fall in it', () => {
  const h = { fromMs: T0, stepMs: 1000, durationBoundsNs: [0, 1e6, 1e7, 1e8, 1e9] };
  const box = cellsBox(h, 3, 1, 2, 1);
  assert.deepEqual(box, { fromMs: T0 + 1000, untilMs: T0 + 4000, minNs: 1e6, maxNs: 1e8 });
  assert.deepEqual(parseBox(formatBox(box)), box);
  assert.equal(parseBox('1,2,3'), null);
  assert.equal(parseBox('5,2,3,4'), null);
  assert.ok(inBox(span('a', '', 1000, 50), box));
  assert.ok(!inBox(span('a', '', 1000, 100), box), 'the upper duration bound is exclusive');
  assert.ok(!inBox(span('a', '', 4000, 50), box), 'the end time is exclusive');
});
