// Merged call trees and Pyroscope's flamebearer layout, built from aggregated stacks with typed
// arrays: stacks are sorted by their frame-name sequence, so the tree comes out in depth-first
// order with siblings sorted by name, without a hash map per node.

export interface StackInput {
  /** Frame names, root first. */
  names: readonly string[];
  left: number;
  /** Second side of a diff; 0 for a single flame graph. */
  right: number;
}

export const ROOT_NAME = 'total';
export const OTHER_NAME = 'other';

class Growable {
  a: Float64Array;
  constructor(n: number) {
    this.a = new Float64Array(Math.max(16, n));
  }
  ensure(n: number): void {
    if (n <= this.a.length) return;
    const b = new Float64Array(Math.max(n, this.a.length * 2));
    b.set(this.a);
    this.a = b;
  }
}

/** A call tree in depth-first order; node 0 is the root. */
export interface CallTree {
  size: number;
  names: string[];
  name: Int32Array;
  parent: Int32Array;
  depth: Int32Array;
  selfL: Float64Array;
  totalL: Float64Array;
  selfR: Float64Array;
  totalR: Float64Array;
}

export function buildTree(stacks: readonly StackInput[]): CallTree {
  // Names sorted so that sorting stacks by name index sorts siblings by name.
  const set = new Set<string>();
  for (const s of stacks) for (const n of s.names) set.add(n);
  const names = [ROOT_NAME, ...[...set].sort()];
  const index = new Map<string, number>();
  names.forEach((n, i) => {
    if (i > 0) index.set(n, i);
  });
  const seqs = stacks.map((s) => Int32Array.from(s.names, (n) => index.get(n)!));
  const order = Array.from(seqs.keys()).sort((x, y) => {
    const a = seqs[x]!;
    const b = seqs[y]!;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });

  let cap = 1024;
  let name = new Int32Array(cap);
  let parent = new Int32Array(cap);
  let depth = new Int32Array(cap);
  const selfL = new Growable(cap);
  const selfR = new Growable(cap);
  let size = 1;
  name[0] = 0;
  parent[0] = -1;
  const path: number[] = [0];
  let prev: Int32Array = new Int32Array(0);
  for (const si of order) {
    const seq = seqs[si]!;
    let k = 0;
    const n = Math.min(prev.length, seq.length);
    while (k < n && prev[k] === seq[k]) k++;
    path.length = k + 1;
    for (let d = k; d < seq.length; d++) {
      if (size === cap) {
        cap *= 2;
        name = grow(name, cap);
        parent = grow(parent, cap);
        depth = grow(depth, cap);
      }
      selfL.ensure(cap);
      selfR.ensure(cap);
      name[size] = seq[d]!;
      parent[size] = path[d]!;
      depth[size] = d + 1;
      path.push(size);
      size++;
    }
    const leaf = path[seq.length]!;
    selfL.a[leaf]! += stacks[si]!.left;
    selfR.a[leaf]! += stacks[si]!.right;
    prev = seq;
  }
  selfL.ensure(size);
  selfR.ensure(size);
  const sl = selfL.a.subarray(0, size);
  const sr = selfR.a.subarray(0, size);
  const tl = Float64Array.from(sl);
  const tr = Float64Array.from(sr);
  for (let i = size - 1; i > 0; i--) {
    const p = parent[i]!;
    tl[p]! += tl[i]!;
    tr[p]! += tr[i]!;
  }
  return { size, names, name: name.subarray(0, size), parent: parent.subarray(0, size), depth: depth.subarray(0, size), selfL: sl, totalL: tl, selfR: sr, totalR: tr };
}

function grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

export interface Flamebearer {
  names: string[];
  levels: number[][];
  numTicks: number;
  maxSelf: number;
}

export interface RenderResult {
  flamebearer: Flamebearer;
  /** Frames dropped into `other` nodes. */
  truncated: boolean;
  nodes: number;
  leftTicks: number;
  rightTicks: number;
}

/**
 * The flamebearer of a tree with at most `maxNodes` nodes (root and `other` nodes included):
 * the heaviest nodes are kept, the rest of each parent's children become one `other` child, so
 * every total (numTicks included) stays exact. `diff` gives septuples, else quadruples.
 */
export function renderFlamebearer(tree: CallTree, maxNodes: number, diff: boolean): RenderResult {
  const { size, parent, depth } = tree;
  const weight = diff ? new Float64Array(size).map((_, i) => tree.totalL[i]! + tree.totalR[i]!) : tree.totalL;
  const kept = new Uint8Array(size);
  let truncated = false;
  if (size <= maxNodes) {
    kept.fill(1);
  } else {
    truncated = true;
    // Heaviest first; on ties the shallower node first, so a parent always precedes its children.
    const order = Int32Array.from({ length: size }, (_, i) => i).sort((a, b) => weight[b]! - weight[a]! || depth[a]! - depth[b]! || a - b);
    // The largest k whose top-k nodes plus one `other` per parent losing children fit in maxNodes.
    const hasOther = new Uint8Array(size);
    const fits = (k: number): boolean => {
      kept.fill(0);
      hasOther.fill(0);
      for (let j = 0; j < k; j++) kept[order[j]!] = 1;
      let others = 0;
      for (let i = 1; i < size; i++) {
        const p = parent[i]!;
        if (!kept[i] && kept[p] && !hasOther[p]) {
          hasOther[p] = 1;
          others++;
        }
      }
      return k + others <= maxNodes;
    };
    let lo = 1;
    let hi = Math.min(size, Math.max(1, maxNodes));
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    fits(lo);
  }

  // Children lists in depth-first order (siblings by name), plus the `other` aggregate per parent.
  const firstChild = new Int32Array(size).fill(-1);
  const lastChild = new Int32Array(size).fill(-1);
  const nextSibling = new Int32Array(size).fill(-1);
  const otherL = new Float64Array(size);
  const otherR = new Float64Array(size);
  for (let i = 1; i < size; i++) {
    const p = parent[i]!;
    if (!kept[p]) continue;
    if (!kept[i]) {
      otherL[p]! += tree.totalL[i]!;
      otherR[p]! += tree.totalR[i]!;
      continue;
    }
    if (lastChild[p] === -1) firstChild[p] = i;
    else nextSibling[lastChild[p]!] = i;
    lastChild[p] = i;
  }

  const nameMap = new Map<number, number>();
  const outNames: string[] = [];
  const nameOf = (idx: number): number => {
    let o = nameMap.get(idx);
    if (o === undefined) {
      o = outNames.length;
      outNames.push(idx === -1 ? OTHER_NAME : tree.names[idx]!);
      nameMap.set(idx, o);
    }
    return o;
  };
  nameOf(0);

  const levels: number[][] = [];
  const endL: number[] = [];
  const endR: number[] = [];
  let maxSelf = 0;
  let nodes = 0;
  const emit = (d: number, xl: number, tl: number, sl: number, xr: number, tr: number, sr: number, nameIdx: number) => {
    while (levels.length <= d) {
      levels.push([]);
      endL.push(0);
      endR.push(0);
    }
    const level = levels[d]!;
    if (diff) level.push(xl - endL[d]!, tl, sl, xr - endR[d]!, tr, sr, nameIdx);
    else level.push(xl - endL[d]!, tl, sl, nameIdx);
    endL[d] = xl + tl;
    endR[d] = xr + tr;
    maxSelf = Math.max(maxSelf, sl, diff ? sr : 0);
    nodes++;
  };

  // Iterative pre-order walk; `other` is visited after its parent's kept children.
  type Item = { node: number; xl: number; xr: number; d: number };
  const stack: Item[] = [{ node: 0, xl: 0, xr: 0, d: 0 }];
  while (stack.length > 0) {
    const { node, xl, xr, d } = stack.pop()!;
    if (node < 0) {
      const p = -node - 1;
      emit(d, xl, otherL[p]!, otherL[p]!, xr, otherR[p]!, otherR[p]!, nameOf(-1));
      continue;
    }
    emit(d, xl, tree.totalL[node]!, tree.selfL[node]!, xr, tree.totalR[node]!, tree.selfR[node]!, nameOf(tree.name[node]!));
    const children: Item[] = [];
    let cl = xl;
    let cr = xr;
    for (let c = firstChild[node]!; c !== -1; c = nextSibling[c]!) {
      children.push({ node: c, xl: cl, xr: cr, d: d + 1 });
      cl += tree.totalL[c]!;
      cr += tree.totalR[c]!;
    }
    if (otherL[node]! > 0 || otherR[node]! > 0) children.push({ node: -node - 1, xl: cl, xr: cr, d: d + 1 });
    for (let j = children.length - 1; j >= 0; j--) stack.push(children[j]!);
  }

  const leftTicks = tree.totalL[0] ?? 0;
  const rightTicks = tree.totalR[0] ?? 0;
  return {
    flamebearer: { names: outNames, levels, numTicks: diff ? leftTicks + rightTicks : leftTicks, maxSelf },
    truncated,
    nodes,
    leftTicks,
    rightTicks,
  };
}
