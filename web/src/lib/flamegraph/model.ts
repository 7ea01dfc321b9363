// A tree prepared for drawing: layout weights and starts, colour buckets, labels.
// Colours and labels of names are computed lazily, the first time a name is drawn, so a
// 100,000-node tree costs nothing for the names that stay off screen.
import { frameInfo, parseFrame } from './frames';
import { computeStarts, diffWeights } from './layout';
import {
  DIFF_DIM_OFFSET,
  DIFF_MERGED,
  DIFF_NEUTRAL,
  DIFF_NEW,
  DIFF_REMOVED,
  DIM_OFFSET,
  SINGLE_MERGED,
  diffNodeBuckets,
  diffPalette,
  frameBucket,
  singlePalette,
  type DiffMode,
  type Palette,
} from './palette';
import type { FlameTree } from './tree';

export interface FlameModel {
  readonly tree: FlameTree;
  /** Layout weight and start of every node. */
  readonly weight: Float64Array;
  readonly start: Float64Array;
  readonly palette: Palette;
  /** Added to a bucket for frames dimmed by a search. */
  readonly dimOffset: number;
  readonly mergedBucket: number;
  bucketOf(node: number): number;
  /** Text drawn on a frame (function name without location, with a new/removed mark in diffs). */
  labelOf(node: number): string;
  /** Diffs: whether the node's change is within sampling noise (absent: not tested). */
  isNoise?(node: number): boolean;
}

let single: Palette | undefined;
let diff: Palette | undefined;

/** Model of a single flame graph (colour by kind and package). */
export function singleModel(tree: FlameTree): FlameModel {
  single ??= singlePalette();
  const weight = tree.total;
  const start = computeStarts(tree, weight);
  const byName = new Int16Array(tree.names.length).fill(-1);
  const labels = new Array<string | undefined>(tree.names.length);
  return {
    tree,
    weight,
    start,
    palette: single,
    dimOffset: DIM_OFFSET,
    mergedBucket: SINGLE_MERGED,
    bucketOf(node) {
      const n = tree.name[node]!;
      let b = byName[n]!;
      if (b < 0) {
        b = frameBucket(frameInfo(tree, n));
        byName[n] = b;
      }
      return b;
    },
    labelOf(node) {
      const n = tree.name[node]!;
      return (labels[n] ??= parseFrame(tree.names[n]!).fn);
    },
  };
}

export type DiffSide = 'both' | 'left' | 'right';

/**
 * Model of a differential flame graph: `both` is the overlay, `left`/`right` the halves of a split
 * view. With `significant` (per node, 1 beyond sampling noise: `significantNodes`), the other
 * frames are drawn neutral and without a new/removed mark.
 */
export function diffModel(tree: FlameTree, mode: DiffMode, side: DiffSide = 'both', significant?: Uint8Array): FlameModel {
  diff ??= diffPalette();
  const weight = diffWeights(tree, mode, side);
  const start = computeStarts(tree, weight);
  const buckets = diffNodeBuckets(tree, mode);
  const isNoise = significant && ((node: number): boolean => node > 0 && significant[node] === 0);
  if (isNoise) for (let i = 1; i < tree.count; i++) if (isNoise(i)) buckets[i] = DIFF_NEUTRAL;
  const labels = new Array<string | undefined>(tree.names.length);
  return {
    tree,
    weight,
    start,
    palette: diff,
    dimOffset: DIFF_DIM_OFFSET,
    mergedBucket: DIFF_MERGED,
    ...(isNoise && { isNoise }),
    bucketOf: (node) => buckets[node]!,
    labelOf(node) {
      const n = tree.name[node]!;
      const label = (labels[n] ??= parseFrame(tree.names[n]!).fn);
      const b = buckets[node];
      return b === DIFF_NEW ? `+ ${label}` : b === DIFF_REMOVED ? `− ${label}` : label;
    },
  };
}
