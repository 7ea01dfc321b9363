// The flamebearer decoded into a struct-of-arrays call tree, for the UI.
//
// Nodes are numbered depth-first (pre-order), so the subtree of node `i` is the contiguous index
// range [i, end[i]) and every parent comes before its children. Node 0 is the root ("total").
// Decoding runs in three phases over typed arrays: positions (absolute x and values of every node,
// in level order), parent links (a level and the next are both sorted by x), and the depth-first
// renumbering.
//
// Only types come from ./schema.js: the UI bundles this module, and the schemas' runtime (TypeBox)
// must stay out of it.
import { ROOT_NAME } from './names.js';
import type { FlameFormat, Flamebearer, FlamebearerMetadata, FrameSources } from './schema.js';

/** The name of the root the decoder adds above several first-level nodes. */
const SYNTHETIC_ROOT = ROOT_NAME;

/** What the decoder reads of a FlamegraphResponse or DiffResponse. */
export interface FlamebearerProfile {
  flamebearer: Flamebearer;
  metadata?: Partial<Pick<FlamebearerMetadata, 'format' | 'units' | 'frames'>>;
  /** Diff totals per side (a DiffResponse has them). */
  leftTicks?: number;
  rightTicks?: number;
}

export interface FlameTree {
  readonly format: FlameFormat;
  readonly names: readonly string[];
  /** Where each name's frame comes from (the response's `metadata.frames`), parallel to `names`. */
  readonly frames?: FrameSources | undefined;
  /** Number of nodes. */
  readonly count: number;
  /** Number of depths (rows); the root is depth 0. */
  readonly depthCount: number;
  readonly parent: Int32Array;
  readonly depth: Int32Array;
  readonly name: Int32Array;
  /** Subtree end (exclusive) in depth-first numbering. */
  readonly end: Int32Array;
  /** Inclusive and exclusive value. For `double` trees: left + right. */
  readonly total: Float64Array;
  readonly self: Float64Array;
  /** `double` only (empty arrays for `single`). */
  readonly leftTotal: Float64Array;
  readonly leftSelf: Float64Array;
  readonly rightTotal: Float64Array;
  readonly rightSelf: Float64Array;
  /** Root total; for `double`, left + right. */
  readonly numTicks: number;
  readonly leftTicks: number;
  readonly rightTicks: number;
  readonly units: string;
}

/** A flamebearer is malformed: the server and the UI disagree on the format. */
export class FlamebearerError extends Error {
  override name = 'FlamebearerError';
}

const EMPTY = new Float64Array(0);

/**
 * Decodes a flamebearer (`single` or `double`, from `metadata.format`; `single` when absent) into a
 * {@link FlameTree}. If the first level holds several nodes a synthetic root named "total" is added
 * above them.
 */
export function decodeFlamebearer(profile: FlamebearerProfile): FlameTree {
  const fb = profile.flamebearer;
  if (fb === null || typeof fb !== 'object' || !Array.isArray(fb.names) || !Array.isArray(fb.levels)) {
    throw new FlamebearerError('flamebearer: expected { names: [], levels: [[]] }');
  }
  const format = profile.metadata?.format ?? 'single';
  const pos = levelPositions(fb, format);
  checkNameIndices(pos, fb.names.length);
  const parent = linkParents(pos);
  const order = depthFirstOrder(parent);
  const b = renumber(pos, parent, order, format);

  const count = pos.count;
  return {
    format,
    names: pos.shift === 1 ? [...fb.names, SYNTHETIC_ROOT] : fb.names,
    frames: profile.metadata?.frames,
    count,
    depthCount: pos.depthCount,
    ...b,
    numTicks: count > 0 ? b.total[0]! : 0,
    leftTicks: format === 'double' ? (profile.leftTicks ?? (count > 0 ? b.leftTotal[0]! : 0)) : 0,
    rightTicks: format === 'double' ? (profile.rightTicks ?? (count > 0 ? b.rightTotal[0]! : 0)) : 0,
    units: profile.metadata?.units ?? 'samples',
  };
}

/** Every node in level order (the synthetic root first, if any): absolute x (in combined ticks), width and values. */
interface LevelOrder extends ValueColumns {
  count: number;
  depthCount: number;
  /** Nodes added before the first level (1 with a synthetic root). */
  shift: number;
  /** First node of each depth; `levelStart[depthCount]` is `count`. */
  levelStart: Int32Array;
  x: Float64Array;
  w: Float64Array;
  depth: Int32Array;
  name: Int32Array;
}

/** Phase 1: positions and values of every node, in level order. */
function levelPositions(fb: Flamebearer, format: FlameFormat): LevelOrder {
  const levels = fb.levels;
  const stride = format === 'double' ? 7 : 4;
  const shift = (levels[0]?.length ?? 0) / stride === 1 ? 0 : 1;
  const count = countNodes(levels, stride) + shift;
  const dbl = format === 'double';
  const pos: LevelOrder = {
    count,
    depthCount: levels.length + shift,
    shift,
    levelStart: new Int32Array(levels.length + 2),
    x: new Float64Array(count),
    w: new Float64Array(count),
    depth: new Int32Array(count),
    name: new Int32Array(count),
    ...valueColumns(count, format),
  };
  let k = shift;
  for (let d = 0; d < levels.length; d++) {
    pos.levelStart[d + shift] = k;
    k = dbl ? doubleLevel(pos, levels[d]!, d + shift, k) : singleLevel(pos, levels[d]!, d + shift, k);
  }
  pos.levelStart[pos.depthCount] = count;
  if (shift === 1) spanSyntheticRoot(pos, fb.names.length, dbl);
  return pos;
}

function countNodes(levels: readonly (readonly number[])[], stride: number): number {
  let n = 0;
  for (let d = 0; d < levels.length; d++) {
    const length = levels[d]!.length;
    if (length % stride !== 0) throw new FlamebearerError(`flamebearer level ${d}: length ${length} is not a multiple of ${stride}`);
    n += length / stride;
  }
  return n;
}

// One loop per format, each monomorphic: they run once per node.

/** Decodes one level of quadruples `[xOffsetDelta, total, self, nameIndex]` from node `k`; returns the next node. */
function singleLevel(pos: LevelOrder, level: readonly number[], depth: number, k: number): number {
  const { x: px, w, total, self, name, depth: dep } = pos;
  let x = 0;
  for (let j = 0; j < level.length; j += 4) {
    const t = level[j + 1]!;
    x += level[j]!;
    px[k] = x;
    w[k] = t;
    total[k] = t;
    self[k] = level[j + 2]!;
    name[k] = level[j + 3]!;
    dep[k] = depth;
    x += t;
    k++;
  }
  return k;
}

/** Decodes one level of septuples `[lOffsetDelta, lTotal, lSelf, rOffsetDelta, rTotal, rSelf, nameIndex]`. */
function doubleLevel(pos: LevelOrder, level: readonly number[], depth: number, k: number): number {
  const { x, w, total, self, name, depth: dep, leftTotal, leftSelf, rightTotal, rightSelf } = pos;
  let xl = 0;
  let xr = 0;
  for (let j = 0; j < level.length; j += 7) {
    const lt = level[j + 1]!;
    const rt = level[j + 4]!;
    xl += level[j]!;
    xr += level[j + 3]!;
    x[k] = xl + xr;
    w[k] = lt + rt;
    leftTotal[k] = lt;
    leftSelf[k] = level[j + 2]!;
    rightTotal[k] = rt;
    rightSelf[k] = level[j + 5]!;
    total[k] = lt + rt;
    self[k] = level[j + 2]! + level[j + 5]!;
    name[k] = level[j + 6]!;
    dep[k] = depth;
    xl += lt;
    xr += rt;
    k++;
  }
  return k;
}

/** The synthetic root (node 0, its name appended after the flamebearer's) spans all first-level nodes. */
function spanSyntheticRoot(pos: LevelOrder, nameIndex: number, dbl: boolean): void {
  let t = 0;
  for (let i = 1; i < pos.count && pos.depth[i] === 1; i++) {
    t += pos.w[i]!;
    if (dbl) {
      pos.leftTotal[0]! += pos.leftTotal[i]!;
      pos.rightTotal[0]! += pos.rightTotal[i]!;
    }
  }
  pos.name[0] = nameIndex;
  pos.w[0] = t;
  pos.total[0] = t;
  pos.depth[0] = 0;
}

function checkNameIndices(pos: LevelOrder, nameCount: number): void {
  for (let i = pos.shift; i < pos.count; i++) {
    const nameIndex = pos.name[i]!;
    if (!(nameIndex >= 0 && nameIndex < nameCount)) {
      throw new FlamebearerError(`flamebearer level ${pos.depth[i]! - pos.shift}: name index ${nameIndex} out of range`);
    }
  }
}

/** Phase 2: the parent of every node (level order). Both a level and the next are sorted by x: walk them together. */
function linkParents(pos: LevelOrder): Int32Array {
  const { levelStart, x, w } = pos;
  const parent = new Int32Array(pos.count).fill(-1);
  for (let d = 1; d < pos.depthCount; d++) {
    let p = levelStart[d - 1]!;
    const pEnd = levelStart[d]!;
    const cEnd = levelStart[d + 1]!;
    for (let c = levelStart[d]!; c < cEnd; c++) {
      const cx = x[c]!;
      while (p < pEnd - 1 && cx >= x[p]! + w[p]!) p++;
      if (p >= pEnd) throw new FlamebearerError(`flamebearer level ${d}: node without parent`);
      parent[c] = p;
    }
  }
  return parent;
}

/** Phase 3: level-order indices in depth-first order (children keep their x order). */
function depthFirstOrder(parent: Int32Array): Int32Array {
  const count = parent.length;
  // Children of each node (CSR): level order already lists siblings by x.
  const childStart = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) if (parent[i]! >= 0) childStart[parent[i]! + 1]!++;
  for (let i = 0; i < count; i++) childStart[i + 1]! += childStart[i]!;
  const fill = childStart.slice(0, count);
  const children = new Int32Array(Math.max(0, count - 1));
  for (let i = 0; i < count; i++) {
    const p = parent[i]!;
    if (p >= 0) children[fill[p]!++] = i;
  }
  const order = new Int32Array(count);
  const stack = new Int32Array(count);
  let sp = 0;
  let next = 0;
  if (count > 0) stack[sp++] = 0;
  while (sp > 0) {
    const li = stack[--sp]!;
    order[next++] = li;
    // Push children in reverse so the leftmost is visited first.
    for (let c = childStart[li + 1]! - 1; c >= childStart[li]!; c--) stack[sp++] = children[c]!;
  }
  return order;
}

/** The tree's columns in depth-first order, with subtree ends. */
function renumber(pos: LevelOrder, parent: Int32Array, order: Int32Array, format: FlameFormat): TreeColumns {
  const count = order.length;
  const newIndex = new Int32Array(count);
  for (let i = 0; i < count; i++) newIndex[order[i]!] = i;
  const b = treeColumns(count, format);
  for (let i = 0; i < count; i++) {
    const li = order[i]!;
    const lp = parent[li]!;
    b.parent[i] = lp < 0 ? -1 : newIndex[lp]!;
    b.depth[i] = pos.depth[li]!;
    b.name[i] = pos.name[li]!;
    b.total[i] = pos.total[li]!;
    b.self[i] = pos.self[li]!;
  }
  if (format === 'double') {
    for (let i = 0; i < count; i++) {
      const li = order[i]!;
      b.leftTotal[i] = pos.leftTotal[li]!;
      b.leftSelf[i] = pos.leftSelf[li]!;
      b.rightTotal[i] = pos.rightTotal[li]!;
      b.rightSelf[i] = pos.rightSelf[li]!;
    }
  }
  computeEnds(b.parent, b.end);
  return b;
}

/** The per-node columns of a {@link FlameTree}. */
/** Inclusive and exclusive values per node; the per-side ones are empty for `single`. */
interface ValueColumns {
  total: Float64Array;
  self: Float64Array;
  leftTotal: Float64Array;
  leftSelf: Float64Array;
  rightTotal: Float64Array;
  rightSelf: Float64Array;
}

function valueColumns(count: number, format: FlameFormat): ValueColumns {
  const dbl = format === 'double';
  return {
    total: new Float64Array(count),
    self: new Float64Array(count),
    leftTotal: dbl ? new Float64Array(count) : EMPTY,
    leftSelf: dbl ? new Float64Array(count) : EMPTY,
    rightTotal: dbl ? new Float64Array(count) : EMPTY,
    rightSelf: dbl ? new Float64Array(count) : EMPTY,
  };
}

export interface TreeColumns extends ValueColumns {
  parent: Int32Array;
  depth: Int32Array;
  name: Int32Array;
  end: Int32Array;
}

/** Zeroed columns for `count` nodes (the left/right ones empty for `single`). */
export function treeColumns(count: number, format: FlameFormat): TreeColumns {
  return {
    parent: new Int32Array(count),
    depth: new Int32Array(count),
    name: new Int32Array(count),
    end: new Int32Array(count),
    ...valueColumns(count, format),
  };
}

/** Subtree ends from the parents of a pre-order numbering. */
export function computeEnds(parent: Int32Array, end: Int32Array): void {
  const n = parent.length;
  for (let i = 0; i < n; i++) end[i] = i + 1;
  // Children come after parents: walking backwards, each node pushes its end up to its parent.
  for (let i = n - 1; i > 0; i--) {
    const p = parent[i]!;
    if (end[i]! > end[p]!) end[p] = end[i]!;
  }
}
