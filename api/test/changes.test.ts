// The change-versus-noise rule: its test at small and large sample counts, the multiple-comparison
// guard, one sample's value, and the per-function changes of a diff's stacks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  FAMILY_ALPHA,
  functionChanges,
  isSignificant,
  sampleValue,
  shareChangeZ,
  significanceRule,
  twoSidedP,
} from '../src/flamebearer/changes.js';

/** Deterministic uniform [0, 1) draws (a hash of seed and counter): so a "random" run is the same run every time. */
function random(seed: number): () => number {
  let n = 0;
  return () => createHash('sha256').update(`${seed}:${n++}`).digest().readUInt32LE(0) / 2 ** 32;
}

/** `samples` draws from `weights` (one per stack), as counts per stack. */
function draw(weights: readonly number[], samples: number, rand: () => number): Float64Array {
  const sum = weights.reduce((a, b) => a + b, 0);
  const counts = new Float64Array(weights.length);
  for (let i = 0; i < samples; i++) {
    let x = rand() * sum;
    let k = 0;
    while (k < weights.length - 1 && x >= weights[k]!) x -= weights[k++]!;
    counts[k]!++;
  }
  return counts;
}

test('the p-value of the normal statistic matches known quantiles', () => {
  assert.ok(Math.abs(twoSidedP(1.959964) - 0.05) < 1e-6);
  assert.ok(Math.abs(twoSidedP(-2.575829) - 0.01) < 1e-6);
  assert.ok(Math.abs(twoSidedP(0) - 1) < 1e-6);
  assert.ok(twoSidedP(40) < 1e-300);
});

test('small counts: one or a few samples on one side are noise, a clear absence is not', () => {
  // One sample on the right only, 100 samples a side: not "new".
  assert.equal(isSignificant(0, 100, 1, 100, 1), false);
  assert.equal(isSignificant(1, 100, 0, 100, 1), false);
  // 5% against 10% of 100 samples: z ≈ 1.3.
  assert.equal(isSignificant(5, 100, 10, 100, 1), false);
  // 10% against 40% of 100 samples: z ≈ 4.9.
  assert.equal(isSignificant(10, 100, 40, 100, 1), true);
  // 20 samples only on the right of 1,000 each: a real new function.
  assert.equal(isSignificant(0, 1000, 20, 1000, 1), true);
  assert.ok(shareChangeZ(0, 1000, 20, 1000) > 4);
  // An empty side decides nothing.
  assert.equal(isSignificant(0, 0, 20, 1000, 1), false);
});

test('large counts: small real shifts are found, sub-threshold ones are not', () => {
  // 10.0% → 10.5% of a million samples a side: z ≈ 11.6.
  assert.equal(isSignificant(100_000, 1e6, 105_000, 1e6, 1000), true);
  // 10.0% → 10.1% of ten million: z ≈ 7.4 but a 0.1 pp change is below the minimum effect.
  assert.ok(shareChangeZ(1e6, 1e7, 1.01e6, 1e7) > 7);
  assert.equal(isSignificant(1e6, 1e7, 1.01e6, 1e7, 1), false);
  // Unequal sides: shares, not counts, are compared (twice the samples, the same share).
  assert.equal(isSignificant(50_000, 500_000, 100_000, 1e6, 1), false);
});

test('the guard for many functions at once: the same z passes alone and fails among many', () => {
  // z ≈ 3.0: p ≈ 0.0027, under 1% for one test and over 1%/100 for a hundred.
  const [l, r, n] = [1000, 1135, 10_000];
  const z = shareChangeZ(l, n, r, n);
  assert.ok(z > 2.9 && z < 3.1, String(z));
  assert.ok(twoSidedP(z) < FAMILY_ALPHA);
  assert.equal(isSignificant(l, n, r, n, 1), true);
  assert.equal(isSignificant(l, n, r, n, 100), false);
});

test('one sample is the value every per-stack value is a multiple of; values become samples through it', () => {
  assert.equal(sampleValue(Float64Array.of(0, 30, 10, 20)), 10);
  // The agent at 19 Hz: no stack seen only once, the period is found all the same.
  const period = Math.round(1e9 / 19);
  assert.equal(sampleValue(Float64Array.of(3 * period, 7 * period, 12 * period)), period);
  // Folded at 3 Hz: a period that is not a whole number of nanoseconds, rounded in storage.
  assert.ok(Math.abs(sampleValue(Float64Array.of(Math.round(5e9 / 3), Math.round(11e9 / 3), Math.round(4e9 / 3))) - 1e9 / 3) < 1);
  // 19 and 99 Hz on one side: their common period is too fine to be a sample, the smallest value stands in.
  assert.equal(sampleValue(Float64Array.of(5 * 10_101_010 + 52_631_579, 3 * 52_631_579, 7 * 10_101_010 + 1)), 7 * 10_101_010 + 1);
  assert.equal(sampleValue(new Float64Array(0)), 0);
  assert.equal(sampleValue(Float64Array.of(0, 0)), 0);
  // cpu nanoseconds at 100 Hz: 10 ms a sample, so 100 vs 400 samples of 1,000 each side.
  const ms = 10_000_000;
  const rule = significanceRule({ ticks: 1000 * ms, sampleValue: ms }, { ticks: 1000 * ms, sampleValue: ms }, 10);
  assert.equal(rule(100 * ms, 400 * ms), true);
  assert.equal(rule(100 * ms, 101 * ms), false);
});

test('functionChanges: self and total per name, recursion counted once, sorted by the change of self share, capped', () => {
  const names = ['main', 'a', 'b', 'c', 'unused'];
  const seqs = [Int32Array.of(0, 1), Int32Array.of(0, 1, 1, 2), Int32Array.of(0, 3), Int32Array.of(0)];
  const left = Float64Array.of(40, 10, 50, 0);
  const right = Float64Array.of(10, 45, 30, 15);
  const changes = functionChanges(names, seqs, left, right, 10);
  assert.deepEqual(
    changes.map((c) => [c.name, c.leftSelf, c.rightSelf, c.leftTotal, c.rightTotal]),
    [
      ['b', 10, 45, 10, 45],
      ['a', 40, 10, 50, 55],
      ['c', 50, 30, 50, 30],
      ['main', 0, 15, 100, 100],
    ],
  );
  assert.deepEqual(
    functionChanges(names, seqs, left, right, 2).map((c) => c.name),
    ['b', 'a'],
  );
});

test('functionChanges on random draws: one distribution twice is noise; a 10% → 40% shift is significant and first', () => {
  // 200 stacks with a long tail (many with one or two samples), 20,000 samples a side.
  const names = Array.from({ length: 201 }, (_, i) => (i === 0 ? 'main' : `f${i}`));
  const seqs = Array.from({ length: 200 }, (_, i) => Int32Array.of(0, i + 1));
  const weights = Array.from({ length: 200 }, (_, i) => 1 / (i + 1));
  for (let seed = 1; seed <= 20; seed++) {
    const rand = random(seed);
    const same = functionChanges(names, seqs, draw(weights, 20_000, rand), draw(weights, 20_000, rand), 1000);
    assert.deepEqual(
      same.filter((c) => c.significant).map((c) => c.name),
      [],
      `seed ${seed}`,
    );
  }
  // f1 holds 10% on the left and 40% on the right, the rest shares what is left alike.
  const rest = weights.slice(1).reduce((a, b) => a + b, 0);
  const shifted = (share: number) => [share, ...weights.slice(1).map((w) => (w / rest) * (1 - share))];
  const rand = random(99);
  const changes = functionChanges(names, seqs, draw(shifted(0.1), 20_000, rand), draw(shifted(0.4), 20_000, rand), 1000);
  assert.equal(changes[0]!.name, 'f1');
  assert.equal(changes[0]!.significant, true);
  assert.ok(changes[0]!.rightSelf > changes[0]!.leftSelf * 3);
});
