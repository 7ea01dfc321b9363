// Round trips through the flamebearer: stacks → the server's renderFlamebearer → decodeFlamebearer
// give back every stack's total and self, single and diff, whole and truncated to maxNodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlamebearerError, decodeFlamebearer, type FlameTree } from '../src/flamebearer/decode.js';
import { renderFlamebearer } from '../src/flamebearer/encode.js';
import { OTHER_NAME } from '../src/flamebearer/schema.js';

interface Stack {
  frames: string[];
  left: number;
  right: number;
}

/**
 * Deterministic stacks over a small vocabulary, so paths share prefixes and recurse. Every stack
 * has a value (a diff's may be 0 on one side): a zero-width node has no x range, so levels cannot
 * say which of two adjacent parents it belongs to.
 */
function makeStacks(count: number, seed: number, diff: boolean): Stack[] {
  let s = seed;
  const rand = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const stacks: Stack[] = [];
  for (let i = 0; i < count; i++) {
    const depth = 1 + rand(8);
    const frames = ['main'];
    for (let d = 1; d < depth; d++) frames.push(`f${rand(6)}`);
    const left = diff && rand(4) === 0 ? 0 : 1 + rand(100);
    const right = !diff ? 0 : left > 0 && rand(4) === 0 ? 0 : 1 + rand(100);
    stacks.push({ frames, left, right });
  }
  return stacks;
}

function render(stacks: Stack[], maxNodes: number, diff: boolean): FlameTree {
  const names: string[] = [];
  const index = new Map<string, number>();
  const intern = (n: string): number => {
    let i = index.get(n);
    if (i === undefined) {
      i = names.length;
      names.push(n);
      index.set(n, i);
    }
    return i;
  };
  const seqs = stacks.map((s) => Int32Array.from(s.frames, intern));
  const left = Float64Array.from(stacks, (s) => s.left);
  const right = Float64Array.from(stacks, (s) => s.right);
  const r = renderFlamebearer(names, diff ? { seqs, left, right } : { seqs, left }, maxNodes, diff);
  assert.equal(r.truncated, r.nodes < countPaths(stacks) + 1, 'truncated exactly when nodes were cut');
  return decodeFlamebearer({
    flamebearer: r.flamebearer,
    metadata: { format: diff ? 'double' : 'single', units: 'samples' },
    ...(diff ? { leftTicks: r.leftTicks, rightTicks: r.rightTicks } : {}),
  });
}

function countPaths(stacks: Stack[]): number {
  const paths = new Set<string>();
  for (const s of stacks) for (let d = 1; d <= s.frames.length; d++) paths.add(s.frames.slice(0, d).join(';'));
  return paths.size;
}

/** Expected total and self of every path (`;`-joined), per side. */
function expected(stacks: Stack[]): Map<string, { lt: number; ls: number; rt: number; rs: number }> {
  const out = new Map<string, { lt: number; ls: number; rt: number; rs: number }>();
  for (const s of stacks) {
    for (let d = 1; d <= s.frames.length; d++) {
      const key = s.frames.slice(0, d).join(';');
      const e = out.get(key) ?? { lt: 0, ls: 0, rt: 0, rs: 0 };
      e.lt += s.left;
      e.rt += s.right;
      if (d === s.frames.length) {
        e.ls += s.left;
        e.rs += s.right;
      }
      out.set(key, e);
    }
  }
  return out;
}

function pathOf(tree: FlameTree, node: number): string {
  const path: string[] = [];
  for (let i = node; i > 0; i = tree.parent[i]!) path.push(tree.names[tree.name[i]!]!);
  return path.reverse().join(';');
}

/** Every decoded node (but `other`) carries its path's exact values; every path with a value is in the tree or under an `other`. */
function assertRoundTrip(stacks: Stack[], tree: FlameTree, diff: boolean): void {
  const want = expected(stacks);
  const sumL = stacks.reduce((a, s) => a + s.left, 0);
  const sumR = stacks.reduce((a, s) => a + s.right, 0);
  assert.equal(tree.numTicks, diff ? sumL + sumR : sumL);
  const seen = new Set<string>();
  const otherUnder = new Set<string>();
  for (let i = 1; i < tree.count; i++) {
    const path = pathOf(tree, i);
    if (tree.names[tree.name[i]!] === OTHER_NAME) {
      otherUnder.add(pathOf(tree, tree.parent[i]!));
      continue;
    }
    const e = want.get(path);
    assert.ok(e, `decoded a path no stack has: ${path}`);
    seen.add(path);
    if (diff) {
      assert.deepEqual([tree.leftTotal[i], tree.leftSelf[i], tree.rightTotal[i], tree.rightSelf[i]], [e.lt, e.ls, e.rt, e.rs], path);
      assert.equal(tree.total[i], e.lt + e.rt, path);
      assert.equal(tree.self[i], e.ls + e.rs, path);
    } else {
      assert.deepEqual([tree.total[i], tree.self[i]], [e.lt, e.ls], path);
    }
  }
  for (const [path, e] of want) {
    if (seen.has(path) || (diff ? e.lt + e.rt : e.lt) === 0) continue;
    const parent = path.split(';').slice(0, -1);
    let cut = false;
    for (let d = parent.length; d >= 0 && !cut; d--) cut = otherUnder.has(parent.slice(0, d).join(';'));
    assert.ok(cut, `${path} is neither decoded nor folded into an ${OTHER_NAME} node`);
  }
}

test('single: every stack comes back with its total and self', () => {
  const stacks = makeStacks(400, 1, false);
  const tree = render(stacks, 1_000_000, false);
  assert.equal(tree.format, 'single');
  assert.equal(tree.count, countPaths(stacks) + 1);
  assertRoundTrip(stacks, tree, false);
});

test('diff: both sides of every stack come back, with the ticks of each side', () => {
  const stacks = makeStacks(400, 2, true);
  const tree = render(stacks, 1_000_000, true);
  assert.equal(tree.format, 'double');
  assert.equal(
    tree.leftTicks,
    stacks.reduce((a, s) => a + s.left, 0),
  );
  assert.equal(
    tree.rightTicks,
    stacks.reduce((a, s) => a + s.right, 0),
  );
  assertRoundTrip(stacks, tree, true);
});

test('truncated to maxNodes: kept nodes stay exact, the rest is under other nodes', () => {
  for (const diff of [false, true]) {
    const stacks = makeStacks(400, 3, diff);
    const tree = render(stacks, 40, diff);
    assert.ok(tree.count <= 40, `${tree.count} nodes`);
    assert.ok(tree.names.includes(OTHER_NAME));
    assertRoundTrip(stacks, tree, diff);
  }
});

test('a tree is numbered depth-first: every subtree is a contiguous range', () => {
  const tree = render(makeStacks(200, 4, false), 1_000_000, false);
  for (let i = 1; i < tree.count; i++) {
    const p = tree.parent[i]!;
    assert.ok(p < i && i < tree.end[p]!, `node ${i} inside its parent's range`);
    assert.equal(tree.depth[i], tree.depth[p]! + 1);
  }
});

test('malformed flamebearers are rejected with a message', () => {
  const decode = (levels: number[][], names = ['total', 'a']) =>
    decodeFlamebearer({ flamebearer: { names, levels, numTicks: 1, maxSelf: 1 }, metadata: { format: 'single' } });
  assert.throws(
    () => decode([[0, 1, 1]]),
    (e) => e instanceof FlamebearerError && /not a multiple of 4/.test(e.message),
  );
  assert.throws(
    () =>
      decode([
        [0, 2, 0, 0],
        [0, 1, 1, 7],
      ]),
    /name index 7 out of range/,
  );
  // A node below an empty level.
  assert.throws(() => decode([[0, 2, 0, 0], [], [0, 1, 1, 1]]), /level 2: node without parent/);
  assert.throws(() => decodeFlamebearer({ flamebearer: null as never }), /expected \{ names/);
});
