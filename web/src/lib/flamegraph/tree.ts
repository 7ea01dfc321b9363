// Flame graph model: the call tree the API's flamebearer decodes into (@kiln/api), and what the
// UI does with one: paths, ancestry, trees merged from paths (TreeBuilder) and encoded back.
//
// Nodes are numbered depth-first (pre-order), so the subtree of node `i` is the contiguous index
// range [i, end[i]) and every parent comes before its children. Node 0 is the root ("total").
// Plain TypeScript, no DOM and no Svelte: the unit tests run it under node (web/test/).
import type { FlameFormat, FrameSources } from '@kiln/api/flamebearer';
import { computeEnds, treeColumns, type FlamebearerProfile, type FlameTree } from '@kiln/api/flamebearer/decode';

export { decodeFlamebearer, FlamebearerError, type FlamebearerProfile, type FlameTree } from '@kiln/api/flamebearer/decode';

/** Path of name strings from the root's child down to `node` (the root itself excluded). */
export function pathOf(tree: FlameTree, node: number): string[] {
  const path: string[] = [];
  for (let i = node; i > 0; i = tree.parent[i]!) path.push(tree.names[tree.name[i]!]!);
  return path.reverse();
}

/** The node reached by following `path` (names) from the root, or the deepest prefix found. */
export function nodeAtPath(tree: FlameTree, path: readonly string[]): number {
  let node = 0;
  for (const step of path) {
    let found = -1;
    for (let c = node + 1; c < tree.end[node]!; c = tree.end[c]!) {
      if (tree.names[tree.name[c]!] === step) {
        found = c;
        break;
      }
    }
    if (found < 0) break;
    node = found;
  }
  return node;
}

/** Ancestors of `node` from the root down, `node` included. */
export function ancestry(tree: FlameTree, node: number): number[] {
  const out: number[] = [];
  for (let i = node; i >= 0; i = tree.parent[i]!) out.push(i);
  return out.reverse();
}

/**
 * Builds trees by merging paths (sandwich views, tests, synthetic data). Children of a node are
 * merged by name; `finish` numbers the nodes depth-first with children sorted by name. Built from
 * the `names` of a decoded tree, the new tree keeps their indices, so it shares that tree's `frames`.
 */
export class TreeBuilder {
  readonly #format: FlameFormat;
  readonly #names: string[];
  readonly #nameIndex = new Map<string, number>();
  #parent: number[] = [-1];
  #name: number[] = [0];
  #total: number[] = [0];
  #self: number[] = [0];
  #lt: number[] = [0];
  #ls: number[] = [0];
  #rt: number[] = [0];
  #rs: number[] = [0];
  readonly #child = new Map<number, number>();
  readonly #frames: FrameSources | undefined;

  constructor(format: FlameFormat = 'single', rootName = 'total', names?: readonly string[], frames?: FrameSources) {
    this.#format = format;
    this.#frames = frames;
    this.#names = names ? [...names] : [];
    this.#names.forEach((n, i) => this.#nameIndex.set(n, i));
    this.#name[0] = this.intern(rootName);
  }

  intern(name: string): number {
    let i = this.#nameIndex.get(name);
    if (i === undefined) {
      i = this.#names.length;
      this.#names.push(name);
      this.#nameIndex.set(name, i);
    }
    return i;
  }

  /** The child of `parent` named `name` (a name index), created if missing. */
  child(parent: number, name: number): number {
    const key = parent * 4_294_967_296 + name;
    let c = this.#child.get(key);
    if (c === undefined) {
      c = this.#parent.length;
      this.#parent.push(parent);
      this.#name.push(name);
      this.#total.push(0);
      this.#self.push(0);
      this.#lt.push(0);
      this.#ls.push(0);
      this.#rt.push(0);
      this.#rs.push(0);
      this.#child.set(key, c);
    }
    return c;
  }

  /** Adds `left`/`right` (for single trees: `left` only) to `node`'s totals, and to its self if `self`. */
  add(node: number, left: number, right = 0, self = false): void {
    this.#total[node]! += left + right;
    this.#lt[node]! += left;
    this.#rt[node]! += right;
    if (self) {
      this.#self[node]! += left + right;
      this.#ls[node]! += left;
      this.#rs[node]! += right;
    }
  }

  /** Adds one stack (root-most first, names) with a value to every node on it. */
  addStack(stack: readonly string[], left: number, right = 0): void {
    let node = 0;
    this.add(0, left, right);
    for (const frame of stack) {
      node = this.child(node, this.intern(frame));
      this.add(node, left, right);
    }
    this.#self[node]! += left + right;
    this.#ls[node]! += left;
    this.#rs[node]! += right;
  }

  finish(units = 'samples', ticks?: { left: number; right: number }): FlameTree {
    const count = this.#parent.length;
    const childCount = new Int32Array(count);
    for (let i = 1; i < count; i++) childCount[this.#parent[i]!]!++;
    const childStart = new Int32Array(count + 1);
    for (let i = 0; i < count; i++) childStart[i + 1] = childStart[i]! + childCount[i]!;
    const fill = childStart.slice(0, count);
    const children = new Int32Array(Math.max(0, count - 1));
    for (let i = 1; i < count; i++) children[fill[this.#parent[i]!]!++] = i;
    const names = this.#names;
    for (let i = 0; i < count; i++) {
      const seg = children.subarray(childStart[i], childStart[i + 1]);
      if (seg.length > 1) seg.sort((a, b) => compareStrings(names[this.#name[a]!]!, names[this.#name[b]!]!));
    }
    const order = new Int32Array(count);
    const newIndex = new Int32Array(count);
    const stack = new Int32Array(count);
    const depthOf = new Int32Array(count);
    let sp = 0;
    let next = 0;
    stack[sp++] = 0;
    let depthCount = 1;
    while (sp > 0) {
      const li = stack[--sp]!;
      newIndex[li] = next;
      order[next++] = li;
      for (let c = childStart[li + 1]! - 1; c >= childStart[li]!; c--) {
        const ch = children[c]!;
        depthOf[ch] = depthOf[li]! + 1;
        if (depthOf[ch] + 1 > depthCount) depthCount = depthOf[ch] + 1;
        stack[sp++] = ch;
      }
    }
    const format = this.#format;
    const b = treeColumns(count, format);
    for (let i = 0; i < count; i++) {
      const li = order[i]!;
      const lp = this.#parent[li]!;
      b.parent[i] = lp < 0 ? -1 : newIndex[lp]!;
      b.depth[i] = depthOf[li]!;
      b.name[i] = this.#name[li]!;
      b.total[i] = this.#total[li]!;
      b.self[i] = this.#self[li]!;
      if (format === 'double') {
        b.leftTotal[i] = this.#lt[li]!;
        b.leftSelf[i] = this.#ls[li]!;
        b.rightTotal[i] = this.#rt[li]!;
        b.rightSelf[i] = this.#rs[li]!;
      }
    }
    computeEnds(b.parent, b.end);
    return {
      format,
      names: [...names],
      frames: this.#frames,
      count,
      depthCount,
      ...b,
      numTicks: b.total[0] ?? 0,
      leftTicks: format === 'double' ? (ticks?.left ?? b.leftTotal[0] ?? 0) : 0,
      rightTicks: format === 'double' ? (ticks?.right ?? b.rightTotal[0] ?? 0) : 0,
      units,
    };
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Encodes a tree back into a flamebearer (children packed left, self at the right end of each
 * parent, offsets delta-encoded per level). Used by tests and the benchmark to make inputs.
 */
export function encodeFlamebearer(tree: FlameTree): FlamebearerProfile {
  const dbl = tree.format === 'double';
  const levels: number[][] = Array.from({ length: tree.depthCount }, () => []);
  // x per node on each side: a child starts where its previous sibling ended.
  const xl = new Float64Array(tree.count);
  const xr = new Float64Array(tree.count);
  const cursorL = new Float64Array(tree.count);
  const cursorR = new Float64Array(tree.count);
  const lastEndL = new Float64Array(tree.depthCount);
  const lastEndR = new Float64Array(tree.depthCount);
  for (let i = 0; i < tree.count; i++) {
    const p = tree.parent[i]!;
    const lt = dbl ? tree.leftTotal[i]! : tree.total[i]!;
    const rt = dbl ? tree.rightTotal[i]! : 0;
    if (p >= 0) {
      xl[i] = cursorL[p]!;
      xr[i] = cursorR[p]!;
      cursorL[p]! += lt;
      cursorR[p]! += rt;
    }
    cursorL[i] = xl[i]!;
    cursorR[i] = xr[i]!;
    const d = tree.depth[i]!;
    const level = levels[d]!;
    if (dbl) {
      level.push(xl[i]! - lastEndL[d]!, lt, tree.leftSelf[i]!, xr[i]! - lastEndR[d]!, rt, tree.rightSelf[i]!, tree.name[i]!);
    } else {
      level.push(xl[i]! - lastEndL[d]!, lt, tree.self[i]!, tree.name[i]!);
    }
    lastEndL[d] = xl[i]! + lt;
    lastEndR[d] = xr[i]! + rt;
  }
  let maxSelf = 0;
  for (let i = 0; i < tree.count; i++) if (tree.self[i]! > maxSelf) maxSelf = tree.self[i]!;
  const profile: FlamebearerProfile = {
    flamebearer: { names: [...tree.names], levels, numTicks: tree.numTicks, maxSelf },
    metadata: { units: tree.units, format: tree.format },
  };
  if (dbl) {
    profile.leftTicks = tree.leftTicks;
    profile.rightTicks = tree.rightTicks;
  }
  return profile;
}
