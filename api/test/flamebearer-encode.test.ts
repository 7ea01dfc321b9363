// The flamebearer encoder's phases: the merged call tree, sibling order, the maxNodes cut with its
// `other` nodes, and how a diff's two sides line up in the levels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildTree,
  keptNodes,
  NameOrder,
  otherTotals,
  renderFlamebearer,
  sortedChildren,
  type StackTable,
} from '../src/flamebearer/encode.js';

const names = ['main', 'b', 'a', 'c', 'gc'];
const [MAIN, B, A, C, GC] = [0, 1, 2, 3, 4];
const stacks = (seqs: number[][], left: number[], right?: number[]): StackTable => ({
  seqs: seqs.map((s) => Int32Array.from(s)),
  left: Float64Array.from(left),
  ...(right && { right: Float64Array.from(right) }),
});

test('buildTree merges shared prefixes and sums totals bottom-up', () => {
  const t = buildTree(
    stacks(
      [
        [MAIN, A],
        [MAIN, A, C],
        [MAIN, B],
        [MAIN, A],
      ],
      [1, 2, 4, 8],
    ),
  );
  assert.equal(t.size, 5); // root, main, a, c, b
  const node = (path: number[]) => {
    let n = 0;
    for (const f of path) n = [...t.name.keys()].find((i) => t.parent[i] === n && t.name[i] === f)!;
    return n;
  };
  assert.equal(t.totalL[0], 15);
  assert.equal(t.totalL[node([MAIN])], 15);
  assert.equal(t.selfL[node([MAIN, A])], 9);
  assert.equal(t.totalL[node([MAIN, A])], 11);
  assert.equal(t.selfL[node([MAIN, A, C])], 2);
  assert.equal(t.totalL[node([MAIN, B])], 4);
  for (let i = 1; i < t.size; i++) assert.ok(t.parent[i]! < i, 'parents come before children');
});

test('sortedChildren orders siblings by name, whichever subset of the name table a tree uses', () => {
  const t = buildTree(stacks([[MAIN, C], [MAIN, A], [MAIN, B], [GC]], [1, 1, 1, 1]));
  const order = new NameOrder();
  const c = sortedChildren(t, order.ranks(names, t.name));
  const childNames = (n: number) => [...c.children.subarray(c.start[n], c.start[n + 1])].map((i) => names[t.name[i]!]);
  assert.deepEqual(childNames(0), ['gc', 'main']);
  const main = [...c.children.subarray(c.start[0], c.start[1])].find((i) => t.name[i] === MAIN)!;
  assert.deepEqual(childNames(main), ['a', 'b', 'c']);
  // A large table of which a tree uses a few names: only those are ranked, in the same order.
  const big = [...names, ...Array.from({ length: 5000 }, (_, i) => `z${i}`)];
  const c2 = sortedChildren(t, order.ranks(big, t.name));
  assert.deepEqual([...c2.children], [...c.children]);
});

test('keptNodes keeps the heaviest nodes and counts one `other` per parent that loses children', () => {
  // root → main (100) → a (60), b (30), c (10); a → c (60)
  const t = buildTree(
    stacks(
      [
        [MAIN, A, C],
        [MAIN, B],
        [MAIN, C],
      ],
      [60, 30, 10],
    ),
  );
  const c = sortedChildren(t, new NameOrder().ranks(names, t.name));
  const keptNames = (maxNodes: number) => {
    const kept = keptNodes(t, c, maxNodes, false);
    const out: string[] = [];
    for (let i = 1; i < t.size; i++) if (kept[i]) out.push(`${names[t.name[t.parent[i]!]!] ?? 'total'}>${names[t.name[i]!]}`);
    return { kept, out: out.sort() };
  };
  assert.equal(keptNames(100).out.length, t.size - 1);
  // 5 nodes: total, main, a, a>c, and main's `other` (b and c folded).
  const five = keptNames(5);
  assert.deepEqual(five.out, ['a>c', 'main>a', 'total>main']);
  const other = otherTotals(t, five.kept);
  const main = [...t.name.keys()].find((i) => t.name[i] === MAIN && t.parent[i] === 0)!;
  assert.equal(other.left[main], 40);
  // Never fewer than the root.
  assert.equal(keptNames(1).out.length, 0);
});

test('renderFlamebearer: maxNodes caps the nodes emitted and keeps every total exact', () => {
  const seqs: number[][] = [];
  const values: number[] = [];
  const many = [...names, ...Array.from({ length: 300 }, (_, i) => `f${i}`)];
  for (let i = 0; i < 300; i++) {
    seqs.push([MAIN, 5 + i, 5 + ((i * 7) % 300)]);
    values.push(1 + (i % 13));
  }
  const full = renderFlamebearer(many, stacks(seqs, values), 1_000_000, false);
  assert.equal(full.truncated, false);
  for (const maxNodes of [1, 2, 10, 50, 400]) {
    const r = renderFlamebearer(many, stacks(seqs, values), maxNodes, false);
    // The root always stays, with an `other` below it when everything else is cut.
    assert.ok(r.nodes <= Math.max(maxNodes, 2), `${r.nodes} nodes for maxNodes ${maxNodes}`);
    assert.equal(r.flamebearer.numTicks, full.flamebearer.numTicks);
    assert.equal(r.truncated, true);
    // Each level's totals add up to at most the root; the first level is the root alone.
    assert.deepEqual(r.flamebearer.levels[0], [0, full.flamebearer.numTicks, 0, 0]);
    for (const level of r.flamebearer.levels) {
      let sum = 0;
      for (let j = 0; j < level.length; j += 4) sum += level[j + 1]!;
      assert.ok(sum <= full.flamebearer.numTicks);
    }
  }
});

test('renderFlamebearer diff: each node carries its left and right offsets, aligned per side', () => {
  // left: main>a 3, main>b 1; right: main>b 5, main>c 2
  const r = renderFlamebearer(
    names,
    stacks(
      [
        [MAIN, A],
        [MAIN, B],
        [MAIN, C],
      ],
      [3, 1, 0],
      [0, 5, 2],
    ),
    100,
    true,
  );
  assert.equal(r.leftTicks, 4);
  assert.equal(r.rightTicks, 7);
  assert.equal(r.flamebearer.numTicks, 11);
  const level2 = r.flamebearer.levels[2]!;
  const rows: [string, number, number, number, number][] = [];
  let xl = 0;
  let xr = 0;
  for (let j = 0; j < level2.length; j += 7) {
    xl += level2[j]!;
    xr += level2[j + 3]!;
    rows.push([r.flamebearer.names[level2[j + 6]!]!, xl, level2[j + 1]!, xr, level2[j + 4]!]);
    xl += level2[j + 1]!;
    xr += level2[j + 4]!;
  }
  // Sorted by name; a node's x on each side is where its previous sibling ended on that side.
  assert.deepEqual(rows, [
    ['a', 0, 3, 0, 0],
    ['b', 3, 1, 0, 5],
    ['c', 4, 0, 5, 2],
  ]);
  assert.equal(r.flamebearer.maxSelf, 5);
});
