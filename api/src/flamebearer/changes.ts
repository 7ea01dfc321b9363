// Change versus noise in a diff: each function's share of its side, and whether the difference
// between the two sides is larger than sampling alone would make it. The server lists the
// changes of a diff with this rule (`metadata.changes`); the UI colours frames and fills its
// regression tables with the same one.
import type { FunctionChange } from './schema.js';

/** Chance, over all the functions of one diff together, that noise is called a change. */
export const FAMILY_ALPHA = 0.01;

/**
 * Smallest change of share (0.2 percentage points) ever called significant. Samples of one run
 * are not independent draws (a thread keeps its stack over consecutive ticks, a program's phases
 * come and go), so two runs of one program differ by more than the binomial model allows; with
 * millions of samples the test alone would call such sub-percent wobbles real.
 */
export const MIN_SHARE_CHANGE = 0.002;

/**
 * Largest divisor of the smallest value tried as one sample (sampleValue). Real sides hold some
 * stack seen once (k = 1); 64 covers synthetic and folded data whose rarest stack has up to 64
 * samples. Bounded because two sampling frequencies share a finer common period (19 and 99 Hz:
 * 1e9/1881 ns, found at k = 133) that would count each real sample many times over.
 */
const MAX_SAMPLES_IN_SMALLEST = 64;

/**
 * The value one sample carries on a side, from its per-stack values (in the profile type's unit,
 * cpu: nanoseconds): the largest value every one of them is a whole multiple of (within a
 * thousandth of a sample), tried as the smallest value divided by 1, 2, … 64. Agent uploads
 * (count × period) and folded ones (count × 1e9 / sampleRate) give back their period exactly.
 * Where no such value is found (a side mixing sampling frequencies) the smallest value stands
 * in: it is at least one sample, so it counts fewer samples and only makes the rule stricter.
 * (The agent's `samples` type would count exactly, but folded uploads have none and reading it
 * doubles the scan.) 0 when the side is empty.
 */
export function sampleValue(values: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > 0 && v < min) min = v;
  }
  if (min === Infinity) return 0;
  for (let k = 1; k <= MAX_SAMPLES_IN_SMALLEST; k++) {
    const unit = min / k;
    let whole = true;
    for (let i = 0; i < values.length && whole; i++) {
      const n = values[i]! / unit;
      whole = Math.abs(n - Math.round(n)) <= 1e-3;
    }
    if (whole) return unit;
  }
  return min;
}

/**
 * Two-proportion z statistic (pooled) of a function's share on each side: `left` of `leftSamples`
 * against `right` of `rightSamples`, in samples. Positive when the right share is larger.
 */
export function shareChangeZ(left: number, leftSamples: number, right: number, rightSamples: number): number {
  if (leftSamples <= 0 || rightSamples <= 0) return 0;
  const pooled = (left + right) / (leftSamples + rightSamples);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / leftSamples + 1 / rightSamples));
  if (!(se > 0)) return 0;
  return (right / rightSamples - left / leftSamples) / se;
}

/** Two-sided p-value of a standard normal statistic. */
export function twoSidedP(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

/**
 * Whether a function's share changed beyond noise when `tests` functions are compared at once:
 * the two-proportion test at FAMILY_ALPHA / tests (Bonferroni) and a change of at least
 * MIN_SHARE_CHANGE. Counts are in samples; a function absent on one side is tested the same way,
 * so one missing sample is never "removed".
 */
export function isSignificant(left: number, leftSamples: number, right: number, rightSamples: number, tests: number): boolean {
  if (leftSamples <= 0 || rightSamples <= 0) return false;
  if (Math.abs(right / rightSamples - left / leftSamples) < MIN_SHARE_CHANGE) return false;
  return twoSidedP(shareChangeZ(left, leftSamples, right, rightSamples)) < FAMILY_ALPHA / Math.max(1, tests);
}

/** One side of a diff in its own unit, with the value of one sample (see sampleValue). */
export interface DiffSide {
  ticks: number;
  sampleValue: number;
}

/** Decides significance of values (not samples) between two sides, with `tests` comparisons. */
export function significanceRule(left: DiffSide, right: DiffSide, tests: number): (leftValue: number, rightValue: number) => boolean {
  const ls = left.sampleValue > 0 ? left.ticks / left.sampleValue : 0;
  const rs = right.sampleValue > 0 ? right.ticks / right.sampleValue : 0;
  return (l, r) => isSignificant(ls > 0 ? l / left.sampleValue : 0, ls, rs > 0 ? r / right.sampleValue : 0, rs, tests);
}

/**
 * Per function name, self and total on each side of a diff's stacks (a name recursive in one
 * stack counts once in its total), sorted by the change of self share, largest first; at most
 * `limit` of them. `significant` is the self share's change, tested over every name of the diff.
 */
export function functionChanges(
  names: readonly string[],
  seqs: readonly Int32Array[],
  left: Float64Array,
  right: Float64Array,
  limit: number,
): FunctionChange[] {
  const ls = new Float64Array(names.length);
  const rs = new Float64Array(names.length);
  const lt = new Float64Array(names.length);
  const rt = new Float64Array(names.length);
  // Stack index + 1 that last added to a name's total: a name twice in one stack adds once.
  const lastStack = new Int32Array(names.length);
  let leftTicks = 0;
  let rightTicks = 0;
  for (let s = 0; s < seqs.length; s++) {
    const seq = seqs[s]!;
    const l = left[s]!;
    const r = right[s]!;
    leftTicks += l;
    rightTicks += r;
    if (seq.length === 0) continue;
    const leaf = seq[seq.length - 1]!;
    ls[leaf]! += l;
    rs[leaf]! += r;
    for (let k = 0; k < seq.length; k++) {
      const n = seq[k]!;
      if (lastStack[n] === s + 1) continue;
      lastStack[n] = s + 1;
      lt[n]! += l;
      rt[n]! += r;
    }
  }
  const listed: number[] = [];
  for (let n = 0; n < names.length; n++) if (lt[n]! > 0 || rt[n]! > 0) listed.push(n);
  const lk = leftTicks > 0 ? 1 / leftTicks : 0;
  const rk = rightTicks > 0 ? 1 / rightTicks : 0;
  const change = (n: number): number => Math.abs(rs[n]! * rk - ls[n]! * lk);
  listed.sort((a, b) => change(b) - change(a) || (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
  const significant = significanceRule(
    { ticks: leftTicks, sampleValue: sampleValue(left) },
    { ticks: rightTicks, sampleValue: sampleValue(right) },
    listed.length,
  );
  return listed.slice(0, limit).map((n) => ({
    name: names[n]!,
    leftSelf: ls[n]!,
    rightSelf: rs[n]!,
    leftTotal: lt[n]!,
    rightTotal: rt[n]!,
    significant: significant(ls[n]!, rs[n]!),
  }));
}

/** Complementary error function (Numerical Recipes' erfcc: fractional error under 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
