// Questions asked of a tree: search, per-function totals (the table), sandwich (callers and
// callees of one function), diff rows (regressions and improvements) and which of a diff's
// changes are beyond sampling noise.
import { sampleValue, significanceRule } from '@kiln/api/flamebearer/changes';
import { TreeBuilder, type FlameTree } from './tree';

/**
 * Per-name match of a search: case-insensitive substring, or a regular expression when written
 * `/.../` (flags after the closing slash; always case-insensitive). An empty query returns null (no search).
 * An invalid expression matches nothing and reports itself through `error`.
 */
export function matchNames(names: readonly string[], query: string): { match: Uint8Array | null; count: number; error?: string } {
  const q = query.trim();
  if (q === '') return { match: null, count: 0 };
  let test: (s: string) => boolean;
  const re = /^\/(.+)\/([a-z]*)$/.exec(q);
  if (re) {
    try {
      const flags = re[2]!.replace(/[gy]/g, '');
      const rx = new RegExp(re[1]!, flags.includes('i') ? flags : `${flags}i`);
      test = (s) => rx.test(s);
    } catch (err) {
      return { match: new Uint8Array(names.length), count: 0, error: err instanceof Error ? err.message : String(err) };
    }
  } else {
    const needle = q.toLowerCase();
    test = (s) => s.toLowerCase().includes(needle);
  }
  const match = new Uint8Array(names.length);
  let count = 0;
  for (let i = 0; i < names.length; i++) {
    if (test(names[i]!)) {
      match[i] = 1;
      count++;
    }
  }
  return { match, count };
}

/** Summed value of the outermost nodes matching (a recursive function counts once per stack). */
export function matchedTotal(tree: FlameTree, nameMatch: Uint8Array): number {
  let sum = 0;
  let i = 1;
  while (i < tree.count) {
    if (nameMatch[tree.name[i]!] === 1) {
      sum += tree.total[i]!;
      i = tree.end[i]!;
    } else i++;
  }
  return sum;
}

/** Per-function totals: one row per distinct name (the root excluded). */
export interface FunctionTable {
  /** Name index per row. */
  name: Int32Array;
  self: Float64Array;
  /** Counted once per stack for recursive functions. */
  total: Float64Array;
  /** Double trees only (else empty). */
  leftSelf: Float64Array;
  leftTotal: Float64Array;
  rightSelf: Float64Array;
  rightTotal: Float64Array;
  rows: number;
}

export function functionTable(tree: FlameTree): FunctionTable {
  const names = tree.names.length;
  const dbl = tree.format === 'double';
  const self = new Float64Array(names);
  const total = new Float64Array(names);
  const ls = new Float64Array(dbl ? names : 0);
  const lt = new Float64Array(dbl ? names : 0);
  const rs = new Float64Array(dbl ? names : 0);
  const rt = new Float64Array(dbl ? names : 0);
  const seen = new Uint8Array(names);
  const onStack = new Int32Array(names);
  const stack = new Int32Array(tree.depthCount + 1);
  let sp = 0;
  for (let i = 1; i < tree.count; i++) {
    while (sp > 0 && tree.end[stack[sp - 1]!]! <= i) onStack[tree.name[stack[--sp]!]!]!--;
    const n = tree.name[i]!;
    seen[n] = 1;
    self[n]! += tree.self[i]!;
    if (dbl) {
      ls[n]! += tree.leftSelf[i]!;
      rs[n]! += tree.rightSelf[i]!;
    }
    if (onStack[n] === 0) {
      total[n]! += tree.total[i]!;
      if (dbl) {
        lt[n]! += tree.leftTotal[i]!;
        rt[n]! += tree.rightTotal[i]!;
      }
    }
    onStack[n]!++;
    stack[sp++] = i;
  }
  const rootName = tree.count > 0 ? tree.name[0]! : -1;
  let rows = 0;
  for (let n = 0; n < names; n++) if (seen[n] === 1 && n !== rootName) rows++;
  const out: FunctionTable = {
    name: new Int32Array(rows),
    self: new Float64Array(rows),
    total: new Float64Array(rows),
    leftSelf: new Float64Array(dbl ? rows : 0),
    leftTotal: new Float64Array(dbl ? rows : 0),
    rightSelf: new Float64Array(dbl ? rows : 0),
    rightTotal: new Float64Array(dbl ? rows : 0),
    rows,
  };
  let r = 0;
  for (let n = 0; n < names; n++) {
    if (seen[n] !== 1 || n === rootName) continue;
    out.name[r] = n;
    out.self[r] = self[n]!;
    out.total[r] = total[n]!;
    if (dbl) {
      out.leftSelf[r] = ls[n]!;
      out.leftTotal[r] = lt[n]!;
      out.rightSelf[r] = rs[n]!;
      out.rightTotal[r] = rt[n]!;
    }
    r++;
  }
  return out;
}

export type SortKey = 'name' | 'self' | 'total';

/** Row order of a function table: sorted by `key` (descending for numbers), filtered by `nameMatch`. */
export function sortRows(
  tree: FlameTree,
  table: FunctionTable,
  key: SortKey,
  descending = true,
  nameMatch: Uint8Array | null = null,
): Int32Array {
  const rows: number[] = [];
  for (let r = 0; r < table.rows; r++) if (nameMatch === null || nameMatch[table.name[r]!] === 1) rows.push(r);
  const names = tree.names;
  const dir = descending ? -1 : 1;
  if (key === 'name') rows.sort((a, b) => dir * -compare(names[table.name[a]!]!, names[table.name[b]!]!));
  else {
    const col = key === 'self' ? table.self : table.total;
    rows.sort((a, b) => dir * (col[a]! - col[b]!) || compare(names[table.name[a]!]!, names[table.name[b]!]!));
  }
  return Int32Array.from(rows);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Sandwich {
  /** The function at the root, its callers as children (then their callers...). */
  callers: FlameTree;
  /** The function at the root, everything it calls merged below. */
  callees: FlameTree;
  /** Direct callers and callees with their values, largest first. */
  directCallers: { name: string; total: number; left: number; right: number }[];
  directCallees: { name: string; total: number; left: number; right: number }[];
  /** The function's total (outermost occurrences). */
  total: number;
}

/** Callers and callees of the function named `names[fn]`, each merged into one tree. */
export function sandwich(tree: FlameTree, fn: number): Sandwich {
  const fnName = tree.names[fn] ?? '';
  const dbl = tree.format === 'double';
  const format = tree.format;
  const callers = new TreeBuilder(format, fnName, tree.names, tree.frames);
  const callees = new TreeBuilder(format, fnName, tree.names, tree.frames);
  const mapped = new Int32Array(tree.count);
  let total = 0;
  let i = 1;
  while (i < tree.count) {
    if (tree.name[i] !== fn) {
      i++;
      continue;
    }
    // Outermost occurrence: its callers path, and its whole subtree into the callees tree.
    const l = dbl ? tree.leftTotal[i]! : tree.total[i]!;
    const r = dbl ? tree.rightTotal[i]! : 0;
    total += tree.total[i]!;
    let c = 0;
    callers.add(0, l, r);
    for (let p = tree.parent[i]!; p > 0; p = tree.parent[p]!) {
      c = callers.child(c, tree.name[p]!);
      callers.add(c, l, r);
    }
    // Self of a callers node: where the path ends (the outermost caller).
    addSelf(callers, c, l, r);
    mapped[i] = 0;
    callees.add(0, l, r);
    addSelf(callees, 0, dbl ? tree.leftSelf[i]! : tree.self[i]!, dbl ? tree.rightSelf[i]! : 0);
    const end = tree.end[i]!;
    for (let j = i + 1; j < end; j++) {
      const m = callees.child(mapped[tree.parent[j]!]!, tree.name[j]!);
      mapped[j] = m;
      callees.add(m, dbl ? tree.leftTotal[j]! : tree.total[j]!, dbl ? tree.rightTotal[j]! : 0);
      addSelf(callees, m, dbl ? tree.leftSelf[j]! : tree.self[j]!, dbl ? tree.rightSelf[j]! : 0);
    }
    i = end;
  }
  const ticks = dbl ? { left: tree.leftTicks, right: tree.rightTicks } : undefined;
  const callersTree = callers.finish(tree.units, ticks);
  const calleesTree = callees.finish(tree.units, ticks);
  return {
    callers: callersTree,
    callees: calleesTree,
    directCallers: directChildren(callersTree),
    directCallees: directChildren(calleesTree),
    total,
  };
}

function addSelf(b: TreeBuilder, node: number, l: number, r: number): void {
  // TreeBuilder.add with self=true also adds to total: add then take the total back out.
  b.add(node, l, r, true);
  b.add(node, -l, -r, false);
}

function directChildren(t: FlameTree): { name: string; total: number; left: number; right: number }[] {
  const out: { name: string; total: number; left: number; right: number }[] = [];
  for (let c = 1; c < t.count; c = t.end[c]!) {
    out.push({
      name: t.names[t.name[c]!]!,
      total: t.total[c]!,
      left: t.format === 'double' ? t.leftTotal[c]! : t.total[c]!,
      right: t.format === 'double' ? t.rightTotal[c]! : 0,
    });
  }
  return out.sort((a, b) => b.total - a.total);
}

/** One function of a diff: shares (relative) or values (absolute) on each side, and the change. */
export interface DiffRow {
  name: string;
  left: number;
  right: number;
  /** right − left (percentage points for relative, value units for absolute). */
  delta: number;
  /** Presence on each side; a badge only when `significant`. */
  status: 'new' | 'removed' | 'changed';
  /** Whether the change of the metric's share is beyond sampling noise (@kiln/api's rule, as the API's `metadata.changes`). */
  significant: boolean;
}

/**
 * The change-versus-noise rule for a double tree with `tests` comparisons. One sample's value
 * per side comes from the nodes' self values (the server uses the stacks'; a node's self sums
 * the stacks ending at it, so both find the same period).
 */
function treeSignificance(tree: FlameTree, tests: number): (leftValue: number, rightValue: number) => boolean {
  return significanceRule(
    { ticks: tree.leftTicks, sampleValue: sampleValue(tree.leftSelf) },
    { ticks: tree.rightTicks, sampleValue: sampleValue(tree.rightSelf) },
    tests,
  );
}

/**
 * Rows of a diff per function, by `metric` (self or total), in percent of each side's ticks
 * (`relative`) or raw values (`absolute`), sorted by delta descending (regressions first).
 * Significance is of the metric's share in both modes: a side that only ran longer is not a
 * change of the code.
 */
export function diffRows(tree: FlameTree, table: FunctionTable, metric: 'self' | 'total', mode: 'relative' | 'absolute'): DiffRow[] {
  const lCol = metric === 'self' ? table.leftSelf : table.leftTotal;
  const rCol = metric === 'self' ? table.rightSelf : table.rightTotal;
  const lk = mode === 'relative' ? (tree.leftTicks > 0 ? 100 / tree.leftTicks : 0) : 1;
  const rk = mode === 'relative' ? (tree.rightTicks > 0 ? 100 / tree.rightTicks : 0) : 1;
  const significant = treeSignificance(tree, table.rows);
  const rows: DiffRow[] = [];
  for (let r = 0; r < table.rows; r++) {
    const lt = table.leftTotal[r]!;
    const rt = table.rightTotal[r]!;
    const left = lCol[r]! * lk;
    const right = rCol[r]! * rk;
    const status = lt === 0 && rt > 0 ? 'new' : rt === 0 && lt > 0 ? 'removed' : 'changed';
    rows.push({
      name: tree.names[table.name[r]!]!,
      left,
      right,
      delta: right - left,
      status,
      // An absence is a change of the total (the whole function came or went).
      significant: status === 'changed' ? significant(lCol[r]!, rCol[r]!) : significant(lt, rt),
    });
  }
  return rows.sort((a, b) => b.delta - a.delta || compare(a.name, b.name));
}

/** Per node of a double tree: 1 where the change of its total share is beyond noise (tested over every node). */
export function significantNodes(tree: FlameTree): Uint8Array {
  const significant = treeSignificance(tree, Math.max(1, tree.count - 1));
  const out = new Uint8Array(tree.count);
  for (let i = 1; i < tree.count; i++) out[i] = significant(tree.leftTotal[i]!, tree.rightTotal[i]!) ? 1 : 0;
  return out;
}
