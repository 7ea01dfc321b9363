// Layout: where each node sits (in weight units), and which rectangles a viewport shows.
//
// x is measured in the tree's weight (ticks for a single graph; for a diff, whatever the view
// weighs nodes by). A viewport is an x range [x0, x1) and a range of visible rows; frames outside
// either are culled, whole subtrees at a time (children are never wider than their parent), and
// frames narrower than `minFramePx` are merged with adjacent narrow frames on the same row into
// one "merged" rectangle (at least 1 px wide) so nothing is silently dropped.
import type { FlameTree } from './tree';

/** Start of every node in weight units: children packed left inside their parent, in order. */
export function computeStarts(tree: FlameTree, weight: Float64Array): Float64Array {
  const start = new Float64Array(tree.count);
  const cursor = new Float64Array(tree.count);
  for (let i = 1; i < tree.count; i++) {
    const p = tree.parent[i]!;
    start[i] = cursor[p]! + start[p]!;
    cursor[p]! += weight[i]!;
  }
  return start;
}

/** Weights for a double tree: normalised shares of each side (`relative`) or raw sums (`absolute`). */
export function diffWeights(tree: FlameTree, mode: 'relative' | 'absolute', side: 'both' | 'left' | 'right' = 'both'): Float64Array {
  const w = new Float64Array(tree.count);
  const lk = mode === 'relative' && tree.leftTicks > 0 ? 1 / tree.leftTicks : mode === 'relative' ? 0 : 1;
  const rk = mode === 'relative' && tree.rightTicks > 0 ? 1 / tree.rightTicks : mode === 'relative' ? 0 : 1;
  for (let i = 0; i < tree.count; i++) {
    const l = side === 'right' ? 0 : tree.leftTotal[i]! * lk;
    const r = side === 'left' ? 0 : tree.rightTotal[i]! * rk;
    w[i] = l + r;
  }
  return w;
}

export interface Viewport {
  /** Visible x range in weight units. */
  x0: number;
  x1: number;
  /** Width in CSS pixels. */
  width: number;
  /** Visible depths [depth0, depth1] (inclusive). */
  depth0: number;
  depth1: number;
}

/** Rectangles of one frame of drawing, struct-of-arrays, grown by doubling. */
export class RectList {
  count = 0;
  x = new Float32Array(1024);
  w = new Float32Array(1024);
  depth = new Int32Array(1024);
  /** Node index, or `-1 - k` for merged run `k`. */
  node = new Int32Array(1024);
  /** Merged runs: how many frames, their summed weight, their first node, and whether any matched. */
  mergedCount = 0;
  mergedFrames = new Int32Array(256);
  mergedWeight = new Float64Array(256);
  mergedFirst = new Int32Array(256);
  mergedMatch = new Uint8Array(256);

  reset(): void {
    this.count = 0;
    this.mergedCount = 0;
  }

  push(x: number, w: number, depth: number, node: number): void {
    if (this.count === this.x.length) {
      const n = this.count * 2;
      this.x = grow(this.x, new Float32Array(n));
      this.w = grow(this.w, new Float32Array(n));
      this.depth = grow(this.depth, new Int32Array(n));
      this.node = grow(this.node, new Int32Array(n));
    }
    const k = this.count++;
    this.x[k] = x;
    this.w[k] = w;
    this.depth[k] = depth;
    this.node[k] = node;
  }

  pushMerged(x: number, w: number, depth: number, frames: number, weight: number, first: number, match: boolean): void {
    if (this.mergedCount === this.mergedFrames.length) {
      const n = this.mergedCount * 2;
      this.mergedFrames = grow(this.mergedFrames, new Int32Array(n));
      this.mergedWeight = grow(this.mergedWeight, new Float64Array(n));
      this.mergedFirst = grow(this.mergedFirst, new Int32Array(n));
      this.mergedMatch = grow(this.mergedMatch, new Uint8Array(n));
    }
    const m = this.mergedCount++;
    this.mergedFrames[m] = frames;
    this.mergedWeight[m] = weight;
    this.mergedFirst[m] = first;
    this.mergedMatch[m] = match ? 1 : 0;
    this.push(x, w, depth, -1 - m);
  }

  /** Index of the rectangle at (x px, depth), or -1. Rectangles of a row are in x order. */
  hit(x: number, depth: number): number {
    for (let k = 0; k < this.count; k++) {
      if (this.depth[k] === depth && x >= this.x[k]! && x < this.x[k]! + Math.max(1, this.w[k]!)) return k;
    }
    return -1;
  }
}

function grow<T extends Float32Array | Float64Array | Int32Array | Uint8Array>(from: T, to: T): T {
  (to as unknown as { set(a: ArrayLike<number>): void }).set(from);
  return to;
}

export interface LayoutOptions {
  /** Frames narrower than this (CSS px) are merged into runs. Default 2. */
  minFramePx?: number;
  /** Per-name search match (1 = match), to mark merged runs that hide a match. */
  nameMatch?: Uint8Array | null;
}

/**
 * Fills `out` with the rectangles visible in `vp`: x and width in CSS pixels (clamped to the
 * viewport), depth, node. Runs in time proportional to the visible frames, not the tree.
 */
export function layoutViewport(
  tree: FlameTree,
  start: Float64Array,
  weight: Float64Array,
  vp: Viewport,
  out: RectList,
  options: LayoutOptions = {},
): RectList {
  out.reset();
  const minPx = options.minFramePx ?? 2;
  const nameMatch = options.nameMatch ?? null;
  const span = vp.x1 - vp.x0;
  if (!(span > 0) || vp.width <= 0 || tree.count === 0) return out;
  const scale = vp.width / span;
  const { width, depth0, depth1 } = vp;
  // A hair inside the range, so float sums of shares do not leave slivers of the neighbours.
  const x0 = vp.x0 + span * 1e-9;
  const x1 = vp.x1 - span * 1e-9;
  const depths = tree.depthCount;
  // Pending merged run per depth.
  const runX0 = new Float64Array(depths);
  const runX1 = new Float64Array(depths).fill(-1);
  const runFrames = new Int32Array(depths);
  const runWeight = new Float64Array(depths);
  const runFirst = new Int32Array(depths);
  const runMatch = new Uint8Array(depths);
  const flush = (d: number): void => {
    if (runX1[d]! < 0) return;
    const x = runX0[d]!;
    const w = Math.max(1, runX1[d]! - x);
    out.pushMerged(Math.min(x, width - 1), w, d, runFrames[d]!, runWeight[d]!, runFirst[d]!, runMatch[d] === 1);
    runX1[d] = -1;
  };

  const { depth, end, name } = tree;
  const n = tree.count;
  let i = 0;
  while (i < n) {
    const w = weight[i]!;
    const s = start[i]!;
    const e = s + w;
    const d = depth[i]!;
    if (w <= 0 || e <= x0 || s >= x1 || d > depth1) {
      i = end[i]!;
      continue;
    }
    const px0 = s <= x0 ? 0 : (s - vp.x0) * scale;
    const px1 = e >= x1 ? width : (e - vp.x0) * scale;
    const pw = px1 - px0;
    if (pw < minPx) {
      if (d >= depth0) {
        if (runX1[d]! >= 0 && px0 - runX1[d]! <= 0.5) {
          runX1[d] = px1;
          runFrames[d]!++;
          runWeight[d]! += w;
          if (nameMatch !== null && nameMatch[name[i]!] === 1) runMatch[d] = 1;
        } else {
          flush(d);
          runX0[d] = px0;
          runX1[d] = px1;
          runFrames[d] = 1;
          runWeight[d] = w;
          runFirst[d] = i;
          runMatch[d] = nameMatch !== null && nameMatch[name[i]!] === 1 ? 1 : 0;
        }
      }
      i = end[i]!;
      continue;
    }
    if (d >= depth0) out.push(px0, pw, d, i);
    i++;
  }
  for (let d = 0; d < depths; d++) flush(d);
  return out;
}

/** The x range that focusing `node` shows. */
export function focusRange(start: Float64Array, weight: Float64Array, node: number): { x0: number; x1: number } {
  return { x0: start[node]!, x1: start[node]! + weight[node]! };
}
