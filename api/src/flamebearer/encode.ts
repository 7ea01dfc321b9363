// Merged call trees and Pyroscope's flamebearer layout, built in one pass over typed arrays.
// Stacks arrive as sequences of interned frame-name indices (root first, from the catalog) with
// their values; the prefix tree is keyed by (parent node, name) in an open-addressing hash table,
// totals are summed bottom-up, the `maxNodes` cut is a partial selection plus one linear scan,
// and the levels are emitted by a depth-first walk with siblings sorted by name.

import { OTHER_NAME, ROOT_NAME } from './names.js';
import type { Flamebearer } from './schema.js';

/** Aggregated stacks of one selection (or two, for a diff). */
export interface StackTable {
  /** Frame names as indices into `names`, root first; one per stack. */
  seqs: readonly Int32Array[];
  left: Float64Array;
  /** Second side of a diff; absent for a single flame graph. */
  right?: Float64Array;
}

/** A call tree; node 0 is the root, every parent has a smaller index than its children. */
export interface CallTree {
  size: number;
  /** Frame-name index of each node (-2 for the root). */
  name: Int32Array;
  parent: Int32Array;
  depth: Int32Array;
  selfL: Float64Array;
  totalL: Float64Array;
  selfR: Float64Array;
  totalR: Float64Array;
}

const ROOT = -2;
const OTHER = -1;

/** Merges stacks into a call tree (siblings not ordered yet). */
export function buildTree(t: StackTable): CallTree {
  const { seqs, left, right } = t;
  let frames = 0;
  for (const s of seqs) frames += s.length;
  let cap = Math.max(64, Math.min(frames + 1, 1 << 16));
  let name = new Int32Array(cap);
  let parent = new Int32Array(cap);
  let depth = new Int32Array(cap);
  let selfL = new Float64Array(cap);
  let selfR = new Float64Array(right === undefined ? 0 : cap);
  // (parent, name) → node + 1; 0 is empty. Kept at most half full.
  let mask = nextPow2(cap * 2) - 1;
  let table = new Int32Array(mask + 1);
  name[0] = ROOT;
  parent[0] = -1;
  let size = 1;

  const rehash = (): void => {
    mask = nextPow2(cap * 2) - 1;
    table = new Int32Array(mask + 1);
    for (let i = 1; i < size; i++) {
      let h = slot(parent[i]!, name[i]!) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = i + 1;
    }
  };

  for (let s = 0; s < seqs.length; s++) {
    const seq = seqs[s]!;
    let node = 0;
    for (let k = 0; k < seq.length; k++) {
      const n = seq[k]!;
      let h = slot(node, n) & mask;
      let child = -1;
      for (;;) {
        const e = table[h]!;
        if (e === 0) break;
        if (parent[e - 1] === node && name[e - 1] === n) {
          child = e - 1;
          break;
        }
        h = (h + 1) & mask;
      }
      if (child < 0) {
        if (size === cap) {
          cap *= 2;
          name = growI(name, cap);
          parent = growI(parent, cap);
          depth = growI(depth, cap);
          selfL = growF(selfL, cap);
          if (right !== undefined) selfR = growF(selfR, cap);
          rehash();
          h = slot(node, n) & mask;
          while (table[h] !== 0) h = (h + 1) & mask;
        }
        child = size++;
        name[child] = n;
        parent[child] = node;
        depth[child] = depth[node]! + 1;
        table[h] = child + 1;
      }
      node = child;
    }
    selfL[node]! += left[s]!;
    if (right !== undefined) selfR[node]! += right[s]!;
  }

  const sl = selfL.subarray(0, size);
  const sr = right === undefined ? new Float64Array(size) : selfR.subarray(0, size);
  const tl = Float64Array.from(sl);
  const tr = Float64Array.from(sr);
  for (let i = size - 1; i > 0; i--) {
    const p = parent[i]!;
    tl[p]! += tl[i]!;
    tr[p]! += tr[i]!;
  }
  return {
    size,
    name: name.subarray(0, size),
    parent: parent.subarray(0, size),
    depth: depth.subarray(0, size),
    selfL: sl,
    totalL: tl,
    selfR: sr,
    totalR: tr,
  };
}

function slot(parent: number, name: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(name + 0x632be5ab, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function growI(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

function growF(a: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

export interface RenderResult {
  flamebearer: Flamebearer;
  /** For each output name, its index in the input `names` (-1 for the root and `other`). */
  nameSource: number[];
  /** Frames dropped into `other` nodes. */
  truncated: boolean;
  nodes: number;
  leftTicks: number;
  rightTicks: number;
}

/**
 * Ranks of frame names in string order (UTF-16 code units, as Array.prototype.sort), for sorting
 * siblings. Holds one ranking of a whole name table and reuses it while trees use no name past
 * it; when a table is much larger than what one tree uses, only the used names are sorted. One
 * per name table owner (the server's catalog), not shared between threads of work.
 */
export class NameOrder {
  #seenAt = new Int32Array(1024);
  #generation = 0;
  #ranks = new Int32Array(0);
  #ranked = 0;
  #rankedOf: readonly string[] | undefined;

  /** Rank by name index, valid for every name a node of `name` uses. */
  ranks(names: readonly string[], name: Int32Array): Int32Array {
    if (this.#seenAt.length < names.length) this.#seenAt = new Int32Array(Math.max(names.length, this.#seenAt.length * 2));
    if (++this.#generation === 0x7fffffff) {
      this.#seenAt.fill(0);
      this.#generation = 1;
    }
    const seenAt = this.#seenAt;
    const generation = this.#generation;
    const used: number[] = [];
    let max = -1;
    for (let i = 1; i < name.length; i++) {
      const n = name[i]!;
      if (seenAt[n] !== generation) {
        seenAt[n] = generation;
        used.push(n);
        if (n > max) max = n;
      }
    }
    if (this.#rankedOf === names && max < this.#ranked) return this.#ranks;
    if (names.length <= 4 * used.length + 1024) {
      const all = Array.from({ length: names.length }, (_, i) => i).sort(byString(names));
      const ranks = new Int32Array(names.length);
      for (let r = 0; r < all.length; r++) ranks[all[r]!] = r;
      this.#ranks = ranks;
      this.#ranked = names.length;
      this.#rankedOf = names;
      return ranks;
    }
    used.sort(byString(names));
    const local = new Int32Array(max + 1);
    for (let r = 0; r < used.length; r++) local[used[r]!] = r;
    return local;
  }
}

const byString =
  (names: readonly string[]) =>
  (a: number, b: number): number => {
    const x = names[a]!;
    const y = names[b]!;
    return x < y ? -1 : x > y ? 1 : 0;
  };

/** Children of every node in CSR form: those of node `p` are `children[start[p] .. start[p + 1])`. */
export interface Children {
  start: Int32Array;
  children: Int32Array;
}

/** Children of each node, sorted by the rank of their name. */
export function sortedChildren(tree: CallTree, rank: Int32Array): Children {
  const { size, parent, name } = tree;
  const start = new Int32Array(size + 1);
  for (let i = 1; i < size; i++) start[parent[i]! + 1]!++;
  for (let i = 0; i < size; i++) start[i + 1]! += start[i]!;
  const children = new Int32Array(Math.max(0, size - 1));
  const fill = start.slice(0, size);
  for (let i = 1; i < size; i++) children[fill[parent[i]!]!++] = i;
  for (let p = 0; p < size; p++) {
    const a = start[p]!;
    const b = start[p + 1]!;
    if (b - a < 2) continue;
    if (b - a <= 24) {
      // Insertion sort: most nodes have a handful of children.
      for (let i = a + 1; i < b; i++) {
        const c = children[i]!;
        const rc = rank[name[c]!]!;
        let j = i - 1;
        while (j >= a && rank[name[children[j]!]!]! > rc) {
          children[j + 1] = children[j]!;
          j--;
        }
        children[j + 1] = c;
      }
    } else {
      children.subarray(a, b).sort((x, y) => rank[name[x]!]! - rank[name[y]!]!);
    }
  }
  return { start, children };
}

/**
 * Which nodes a flame graph of at most `maxNodes` nodes keeps (1 in the result): the heaviest
 * (diff: left + right) first, ties to the shallower, then to the earlier in depth-first order;
 * every parent that loses children gets one `other` node, and those count toward `maxNodes` too.
 * All nodes when the tree fits.
 */
export function keptNodes(tree: CallTree, c: Children, maxNodes: number, diff: boolean): Uint8Array {
  const { size, parent, depth, totalL, totalR } = tree;
  const kept = new Uint8Array(size);
  if (size <= maxNodes) return kept.fill(1);
  const { start, children } = c;
  // Depth-first (pre-order) rank of every node: the final tie-break.
  const dfs = new Int32Array(size);
  const walk = new Int32Array(size);
  let top = 0;
  let next = 0;
  walk[top++] = 0;
  while (top > 0) {
    const n = walk[--top]!;
    dfs[n] = next++;
    for (let j = start[n + 1]! - 1; j >= start[n]!; j--) walk[top++] = children[j]!;
  }
  let weight = totalL;
  if (diff) {
    weight = new Float64Array(size);
    for (let i = 0; i < size; i++) weight[i] = totalL[i]! + totalR[i]!;
  }
  // Only the `maxNodes` heaviest nodes (and ties with the last of them) can be kept.
  const threshold = kthLargest(weight.slice(), Math.min(maxNodes, size));
  let m = 0;
  for (let i = 0; i < size; i++) if (weight[i]! >= threshold) m++;
  const order = new Int32Array(m);
  m = 0;
  for (let i = 0; i < size; i++) if (weight[i]! >= threshold) order[m++] = i;
  order.sort((a, b) => weight[b]! - weight[a]! || depth[a]! - depth[b]! || dfs[a]! - dfs[b]!);
  // Keep the longest prefix of `order` whose nodes plus one `other` per parent that loses
  // children fit; that count only grows with the prefix, so one scan finds it.
  const keptChildren = new Int32Array(size);
  let count = 0;
  for (let j = 0; j < order.length; j++) {
    const n = order[j]!;
    const p = parent[n]!;
    const gains = keptChildren[n]! < start[n + 1]! - start[n]! ? 1 : 0;
    const fills = p >= 0 && kept[p] === 1 && keptChildren[p]! + 1 === start[p + 1]! - start[p]! ? 1 : 0;
    const after = count + 1 + gains - fills;
    if (after > maxNodes && j > 0) break;
    kept[n] = 1;
    if (p >= 0) keptChildren[p]!++;
    count = after;
  }
  return kept;
}

/** Per kept parent, the totals of its children that were cut (its `other` node; 0: none). */
export function otherTotals(tree: CallTree, kept: Uint8Array): { left: Float64Array; right: Float64Array } {
  const { size, parent, totalL, totalR } = tree;
  const left = new Float64Array(size);
  const right = new Float64Array(size);
  for (let i = 1; i < size; i++) {
    const p = parent[i]!;
    if (kept[p] && !kept[i]) {
      left[p]! += totalL[i]!;
      right[p]! += totalR[i]!;
    }
  }
  return { left, right };
}

/** Output names in order of first use, `total` first; `source` maps each to its input index (-1: root, other). */
class OutputNames {
  readonly names: string[] = [];
  readonly source: number[] = [];
  readonly #index = new Map<number, number>();
  constructor(readonly input: readonly string[]) {}

  of(idx: number): number {
    let o = this.#index.get(idx);
    if (o === undefined) {
      o = this.names.length;
      this.names.push(idx === ROOT ? ROOT_NAME : idx === OTHER ? OTHER_NAME : this.input[idx]!);
      this.source.push(idx === ROOT || idx === OTHER ? -1 : idx);
      this.#index.set(idx, o);
    }
    return o;
  }
}

/** Appends nodes to per-depth levels, delta-encoding x offsets within each level. */
class LevelWriter {
  readonly levels: number[][] = [];
  maxSelf = 0;
  nodes = 0;
  readonly #endL: number[] = [];
  readonly #endR: number[] = [];
  constructor(readonly diff: boolean) {}

  emit(d: number, xl: number, tl: number, sl: number, xr: number, tr: number, sr: number, nameIdx: number): void {
    const { levels } = this;
    while (levels.length <= d) {
      levels.push([]);
      this.#endL.push(0);
      this.#endR.push(0);
    }
    const level = levels[d]!;
    if (this.diff) level.push(xl - this.#endL[d]!, tl, sl, xr - this.#endR[d]!, tr, sr, nameIdx);
    else level.push(xl - this.#endL[d]!, tl, sl, nameIdx);
    this.#endL[d] = xl + tl;
    this.#endR[d] = xr + tr;
    if (sl > this.maxSelf) this.maxSelf = sl;
    if (this.diff && sr > this.maxSelf) this.maxSelf = sr;
    this.nodes++;
  }
}

/**
 * The levels of the kept nodes, depth-first with children left to right; a parent's `other`
 * node comes after its kept children. Each node's x on both sides is where its previous kept
 * sibling ended (or its parent's x), so a diff's left and right offsets line up per node.
 */
function emitLevels(
  names: readonly string[],
  tree: CallTree,
  c: Children,
  kept: Uint8Array,
  other: { left: Float64Array; right: Float64Array },
  diff: boolean,
) {
  const { size, depth, name, totalL, totalR, selfL, selfR } = tree;
  const { start, children } = c;
  const out = new OutputNames(names);
  const w = new LevelWriter(diff);
  // An explicit stack: node (an `other` is encoded -parent-1) and its x on both sides.
  const cap = size * 2 + 1;
  const stackNode = new Int32Array(cap);
  const stackXL = new Float64Array(cap);
  const stackXR = new Float64Array(cap);
  let top = 1;
  const pending = new Int32Array(size);
  while (top > 0) {
    top--;
    const node = stackNode[top]!;
    const xl = stackXL[top]!;
    const xr = stackXR[top]!;
    if (node < 0) {
      const p = -node - 1;
      w.emit(depth[p]! + 1, xl, other.left[p]!, other.left[p]!, xr, other.right[p]!, other.right[p]!, out.of(OTHER));
      continue;
    }
    w.emit(depth[node]!, xl, totalL[node]!, selfL[node]!, xr, totalR[node]!, selfR[node]!, out.of(name[node]!));
    // Children left to right, pushed in reverse so the leftmost is visited first.
    let n = 0;
    let cl = xl;
    let cr = xr;
    for (let j = start[node]!; j < start[node + 1]!; j++) {
      const ch = children[j]!;
      if (kept[ch]) pending[n++] = ch;
    }
    const hasOther = other.left[node]! > 0 || other.right[node]! > 0;
    let s = top + n + (hasOther ? 1 : 0);
    top = s;
    for (let k = 0; k < n; k++) {
      const ch = pending[k]!;
      s--;
      stackNode[s] = ch;
      stackXL[s] = cl;
      stackXR[s] = cr;
      cl += totalL[ch]!;
      cr += totalR[ch]!;
    }
    if (hasOther) {
      s--;
      stackNode[s] = -node - 1;
      stackXL[s] = cl;
      stackXR[s] = cr;
    }
  }
  return { out, w };
}

/**
 * The flamebearer of the merged `stacks` with at most `maxNodes` nodes (root and `other` nodes
 * included): the heaviest nodes are kept, the rest of each parent's children become one `other`
 * child, so every total (numTicks included) stays exact. Siblings are sorted by name. `diff`
 * gives septuples, else quadruples.
 */
export function renderFlamebearer(
  names: readonly string[],
  stacks: StackTable,
  maxNodes: number,
  diff: boolean,
  order = new NameOrder(),
): RenderResult {
  const tree = buildTree(stacks);
  const children = sortedChildren(tree, order.ranks(names, tree.name));
  const kept = keptNodes(tree, children, maxNodes, diff);
  const truncated = tree.size > maxNodes;
  const other = truncated ? otherTotals(tree, kept) : { left: new Float64Array(tree.size), right: new Float64Array(tree.size) };
  const { out, w } = emitLevels(names, tree, children, kept, other, diff);
  const leftTicks = tree.totalL[0] ?? 0;
  const rightTicks = tree.totalR[0] ?? 0;
  return {
    flamebearer: { names: out.names, levels: w.levels, numTicks: diff ? leftTicks + rightTicks : leftTicks, maxSelf: w.maxSelf },
    nameSource: out.source,
    truncated,
    nodes: w.nodes,
    leftTicks,
    rightTicks,
  };
}

/** The k-th largest value of `a` (1-based), reordering `a` (quickselect). */
export function kthLargest(a: Float64Array, k: number): number {
  // The (n-k)-th smallest, 0-based.
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot.
    let x = a[lo]!;
    let y = a[mid]!;
    let z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}
