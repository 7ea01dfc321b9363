// Unit tests of the kernel signals' helpers (web/src/lib/signals.ts) and the shared time axis, run under node:test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { breakdownSegments, bucketAt, bucketGrid, bucketPoints, formatSignal, SIGNAL_TIMELINES } from '../src/lib/signals';
import { timeAxis } from '../src/lib/time';

// A multiple of every step these tests use (10 s, 30 s).
const T0 = 1_699_999_980_000;
const series = { fromMs: T0, stepMs: 10_000, values: [0, 5e6, 0, 2e6] };

test('the three timelines, in order', () => {
  assert.deepEqual(
    SIGNAL_TIMELINES.map((s) => s.kind),
    ['throttle', 'runqueue', 'retransmit'],
  );
});

test('signal values read in their unit', () => {
  assert.equal(formatSignal(12_500_000, 'nanoseconds'), '12.5 ms');
  assert.equal(formatSignal(1, 'segments'), '1 segment');
  assert.equal(formatSignal(1234, 'segments'), '1,234 segments');
});

test('buckets are drawn flat over their width', () => {
  assert.deepEqual(bucketPoints({ fromMs: T0, stepMs: 10_000, values: [3, 7] }), [
    [T0, 3],
    [T0 + 10_000, 3],
    [T0 + 10_000, 7],
    [T0 + 20_000, 7],
  ]);
});

test('a click lands in the bucket that holds its time; outside the series it picks nothing', () => {
  assert.deepEqual(bucketAt(series, T0 + 12_345), { index: 1, fromMs: T0 + 10_000, untilMs: T0 + 20_000, value: 5e6 });
  assert.deepEqual(bucketAt(series, T0), { index: 0, fromMs: T0, untilMs: T0 + 10_000, value: 0 });
  assert.equal(bucketAt(series, T0 - 1), null);
  assert.equal(bucketAt(series, T0 + 40_000), null);
  assert.equal(bucketAt({ ...series, stepMs: 0 }, T0), null);
});

test('the signal timelines ask for the CPU timeline’s buckets', () => {
  const axis = timeAxis({ from: 'now-15m', until: 'now' }, T0 + 4_321)!;
  assert.deepEqual(axis, { fromMs: T0 + 4_321 - 900_000, untilMs: T0 + 4_321, step: '10s', stepMs: 10_000 });
  // The grid /api/v1/series cuts: from a multiple of the step, whole steps to past the end.
  assert.deepEqual(bucketGrid(axis), { from: String(T0 - 900_000), until: String(T0 + 10_000), maxPoints: 91 });
  const aligned = timeAxis({ from: String(T0 - 3_600_000), until: String(T0) }, T0)!;
  assert.deepEqual(bucketGrid(aligned), { from: String(T0 - 3_600_000), until: String(T0), maxPoints: 120 });
  assert.equal(timeAxis({ from: 'soon', until: 'now' }, T0), null);
  assert.equal(timeAxis({ from: 'now', until: 'now-1h' }, T0), null);
});

test('a span breakdown: four parts in drawing order, shares of their sum', () => {
  const parts = breakdownSegments({ onCpuNs: 20e6, runQueueNs: 10e6, throttledNs: 60e6, offCpuNs: 10e6, retransmits: 3 });
  assert.deepEqual(
    parts.map((p) => [p.part, p.ns, p.share]),
    [
      ['on-cpu', 20e6, 0.2],
      ['run-queue', 10e6, 0.1],
      ['throttled', 60e6, 0.6],
      ['off-cpu', 10e6, 0.1],
    ],
  );
  assert.ok(breakdownSegments({ onCpuNs: 0, runQueueNs: 0, throttledNs: 0, offCpuNs: 0, retransmits: 0 }).every((p) => p.share === 0));
});
