// Colours as a small set of buckets, so the renderer sets fillStyle once per bucket
// (colour-batched passes) instead of once per frame.
import { FRAME_KINDS, type FrameInfo, type FrameKind } from './frames';
import type { FlameTree } from './tree';

export interface Palette {
  /** CSS colour per bucket. */
  fill: readonly string[];
  /** Text colour per bucket (dark on light fills, white on dark ones). */
  text: readonly string[];
  /** Buckets drawn with diagonal hatching on top (new / removed frames). */
  hatched: readonly boolean[];
}

/** Shades per frame kind, chosen by a hash of the package/binary. */
export const SHADES = 8;
const KIND_ORDER: readonly FrameKind[] = ['root', ...FRAME_KINDS];

/** Base hue, saturation, lightness of each kind. */
const KIND_HSL: Record<FrameKind, [number, number, number]> = {
  root: [0, 0, 78],
  kernel: [12, 78, 64], // red-orange
  native: [50, 82, 60], // yellow
  jit: [125, 42, 58], // green
  runtime: [200, 58, 64], // blue / aqua
  unknown: [0, 0, 72], // grey
};

/** CSS colour of a kind's middle shade (legends). */
export function kindColor(kind: FrameKind): string {
  const [h, s, l] = KIND_HSL[kind];
  return `hsl(${h} ${s}% ${l}%)`;
}

// Bucket layout for single graphs: [kind × shade] normal, then the same dimmed (search misses),
// then one "merged narrow frames" bucket and its dimmed twin.
const KIND_BUCKETS = KIND_ORDER.length * SHADES;
export const SINGLE_MERGED = KIND_BUCKETS * 2;
export const DIM_OFFSET = KIND_BUCKETS;

export function singlePalette(): Palette {
  const fill: string[] = [];
  const text: string[] = [];
  for (const dim of [false, true]) {
    for (const kind of KIND_ORDER) {
      const [h, s, l] = KIND_HSL[kind];
      for (let shade = 0; shade < SHADES; shade++) {
        const dh = s === 0 ? 0 : ((shade * 5) % SHADES) * 1.6 - 6;
        const dl = ((shade * 3) % SHADES) * 2.2 - 8;
        const lightness = Math.min(88, l + dl);
        if (dim) {
          fill.push(`hsl(${h + dh} ${Math.round(s * 0.25)}% 90%)`);
          text.push('#8b949e');
        } else {
          fill.push(`hsl(${h + dh} ${s}% ${lightness}%)`);
          text.push('#1f2328');
        }
      }
    }
  }
  fill.push('#c9ced6', '#eceef1');
  text.push('#1f2328', '#8b949e');
  return { fill, text, hatched: fill.map(() => false) };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Bucket of a frame (by kind and package) in a single graph. */
export function frameBucket(info: FrameInfo): number {
  const k = KIND_ORDER.indexOf(info.kind);
  return k * SHADES + (info.kind === 'root' ? 0 : hash(info.pkg) % SHADES);
}

// ---- Diff: a colour-blind-safe diverging palette (ColorBrewer RdBu): blue = less, red = more.

/** Steps on each side of neutral. */
export const DIFF_STEPS = 5;
/** Relative change thresholds of steps 1..5 (|change| ≥ threshold). */
export const DIFF_THRESHOLDS = [0.02, 0.1, 0.25, 0.5, 1] as const;
const DIFF_COLORS = [
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#c3dbea',
  '#dde7ee',
  '#e3e3e3',
  '#f6ddd3',
  '#fbc3a9',
  '#f4a582',
  '#d6604d',
  '#b2182b',
];
export const DIFF_NEUTRAL = DIFF_STEPS;
export const DIFF_NEW = DIFF_STEPS * 2 + 1;
export const DIFF_REMOVED = DIFF_STEPS * 2 + 2;
export const DIFF_MERGED = DIFF_STEPS * 2 + 3;
export const DIFF_DIM_OFFSET = DIFF_STEPS * 2 + 4;
export const DIFF_NEW_COLOR = '#67001f';
export const DIFF_REMOVED_COLOR = '#053061';

export function diffPalette(): Palette {
  const base = [...DIFF_COLORS, DIFF_NEW_COLOR, DIFF_REMOVED_COLOR, '#c9ced6'];
  const dark = new Set([0, 1, 9, 10, DIFF_NEW, DIFF_REMOVED]);
  const fill: string[] = [...base];
  const text: string[] = base.map((_, i) => (dark.has(i) ? '#ffffff' : '#1f2328'));
  const hatched: boolean[] = base.map((_, i) => i === DIFF_NEW || i === DIFF_REMOVED);
  for (let i = 0; i < base.length; i++) {
    fill.push('#eef0f3');
    text.push('#8b949e');
    hatched.push(false);
  }
  return { fill, text, hatched };
}

/** The diverging colours from most improved to most regressed (legend). */
export const DIFF_SCALE: readonly string[] = DIFF_COLORS;

/** Bucket of a relative change (−1 = gone … +∞); `null` for nodes on neither side. */
export function diffBucket(change: number): number {
  const a = Math.abs(change);
  let step = 0;
  while (step < DIFF_STEPS && a >= DIFF_THRESHOLDS[step]!) step++;
  return change < 0 ? DIFF_NEUTRAL - step : DIFF_NEUTRAL + step;
}

export type DiffMode = 'relative' | 'absolute';

/**
 * Relative change of a node between left and right: with `relative`, shares of each side's total
 * (so a side with twice the samples does not look twice as slow); with `absolute`, raw values.
 * +Infinity for a node only on the right, -1 for one only on the left.
 */
export function diffChange(leftValue: number, leftTicks: number, rightValue: number, rightTicks: number, mode: DiffMode): number {
  const l = mode === 'relative' ? (leftTicks > 0 ? leftValue / leftTicks : 0) : leftValue;
  const r = mode === 'relative' ? (rightTicks > 0 ? rightValue / rightTicks : 0) : rightValue;
  if (l === 0) return r === 0 ? 0 : Infinity;
  return (r - l) / l;
}

/** Per-node buckets of a double tree. */
export function diffNodeBuckets(tree: FlameTree, mode: DiffMode): Uint8Array {
  const out = new Uint8Array(tree.count);
  for (let i = 0; i < tree.count; i++) {
    const lt = tree.leftTotal[i]!;
    const rt = tree.rightTotal[i]!;
    if (lt === 0 && rt > 0) out[i] = DIFF_NEW;
    else if (rt === 0 && lt > 0) out[i] = DIFF_REMOVED;
    else out[i] = diffBucket(diffChange(lt, tree.leftTicks, rt, tree.rightTicks, mode));
  }
  return out;
}
