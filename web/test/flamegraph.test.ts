// Unit tests of the flame graph core (web/src/lib/flamegraph), run under node:test.
// Type-checked with the rest of the UI by `npm run check -w @kiln/web`; executed by
// test/src/ui-flamegraph.test.ts, which bundles this file with esbuild and imports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DIFF_NEUTRAL,
  DIFF_NEW,
  DIFF_REMOVED,
  RectList,
  TreeBuilder,
  computeStarts,
  decodeFlamebearer,
  diffBucket,
  diffChange,
  diffModel,
  diffNodeBuckets,
  diffRows,
  diffWeights,
  encodeFlamebearer,
  focusRange,
  formatPercent,
  frameInfo,
  functionTable,
  layoutViewport,
  matchNames,
  matchedTotal,
  nodeAtPath,
  parseFrame,
  pathOf,
  sandwich,
  significantNodes,
  singleModel,
  sortRows,
  type FlameTree,
} from '../src/lib/flamegraph/index';

/** main;a;b 30 · main;a 10 · main;c 60 */
const SINGLE = {
  flamebearer: {
    names: ['total', 'main', 'a', 'c', 'b'],
    levels: [
      [0, 100, 0, 0],
      [0, 100, 0, 1],
      [0, 40, 10, 2, 0, 60, 60, 3],
      [0, 30, 30, 4],
    ],
    numTicks: 100,
    maxSelf: 60,
  },
  metadata: { units: 'samples', format: 'single' as const, name: 'cpu' },
};

function find(tree: FlameTree, ...path: string[]): number {
  const n = nodeAtPath(tree, path);
  assert.deepEqual(pathOf(tree, n), path, `no node at ${path.join(';')}`);
  return n;
}

test('decodes a single flamebearer into a depth-first tree', () => {
  const t = decodeFlamebearer(SINGLE);
  assert.equal(t.format, 'single');
  assert.equal(t.count, 5);
  assert.equal(t.depthCount, 4);
  assert.equal(t.numTicks, 100);
  // Depth-first: total, main, a, b, c
  assert.deepEqual(
    Array.from(t.name, (n) => t.names[n]),
    ['total', 'main', 'a', 'b', 'c'],
  );
  assert.deepEqual(Array.from(t.parent), [-1, 0, 1, 2, 1]);
  assert.deepEqual(Array.from(t.end), [5, 5, 4, 4, 5]);
  assert.deepEqual(Array.from(t.depth), [0, 1, 2, 3, 2]);
  assert.deepEqual(Array.from(t.total), [100, 100, 40, 30, 60]);
  assert.deepEqual(Array.from(t.self), [0, 0, 10, 30, 60]);
});

test('offsets are delta-encoded within a level: gaps place children under the right parent', () => {
  // Two parents at depth 1 (x 0..50 and 50..100); child at depth 2 under the second one
  // after a gap of 50 - 0 = 50 ticks (offset relative to the previous node's end).
  const t = decodeFlamebearer({
    flamebearer: {
      names: ['total', 'p', 'q', 'x'],
      levels: [
        [0, 100, 0, 0],
        [0, 50, 50, 1, 0, 50, 30, 2],
        [50, 20, 20, 3],
      ],
      numTicks: 100,
      maxSelf: 50,
    },
    metadata: { format: 'single' },
  });
  const x = find(t, 'q', 'x');
  assert.equal(t.names[t.name[t.parent[x]!]!], 'q');
});

test('several first-level nodes get a synthetic "total" root', () => {
  const t = decodeFlamebearer({
    flamebearer: { names: ['a', 'b'], levels: [[0, 10, 10, 0, 0, 30, 30, 1]], numTicks: 40, maxSelf: 30 },
  });
  assert.equal(t.names[t.name[0]!], 'total');
  assert.equal(t.total[0], 40);
  assert.equal(t.depthCount, 2);
  assert.equal(t.count, 3);
});

test('encode → decode round-trips single and double trees', () => {
  const b = new TreeBuilder('single');
  b.addStack(['main', 'work', 'hot'], 40);
  b.addStack(['main', 'work', 'cold'], 25);
  b.addStack(['main', 'work'], 5);
  b.addStack(['main', 'idle'], 30);
  const t = b.finish();
  const back = decodeFlamebearer(encodeFlamebearer(t));
  assert.deepEqual(Array.from(back.total), Array.from(t.total));
  assert.deepEqual(Array.from(back.self), Array.from(t.self));
  assert.deepEqual(Array.from(back.parent), Array.from(t.parent));

  const d = new TreeBuilder('double');
  d.addStack(['main', 'hot'], 10, 40);
  d.addStack(['main', 'cold'], 90, 50);
  d.addStack(['main', 'fresh'], 0, 10);
  const dt = d.finish();
  const enc = encodeFlamebearer(dt);
  assert.equal(enc.flamebearer.levels[1]!.length, 7);
  const dback = decodeFlamebearer(enc);
  assert.equal(dback.format, 'double');
  assert.equal(dback.leftTicks, 100);
  assert.equal(dback.rightTicks, 100);
  const hot = find(dback, 'main', 'hot');
  assert.equal(dback.leftTotal[hot], 10);
  assert.equal(dback.rightTotal[hot], 40);
  const fresh = find(dback, 'main', 'fresh');
  assert.equal(dback.leftTotal[fresh], 0);
  assert.equal(dback.rightSelf[fresh], 10);
});

test('a malformed level is rejected with a message', () => {
  assert.throws(
    () =>
      decodeFlamebearer({
        flamebearer: { names: ['total'], levels: [[0, 1, 1]], numTicks: 1, maxSelf: 1 },
        metadata: { format: 'single' },
      }),
    /not a multiple of 4/,
  );
});

test('layout: full width, then focus shows the subtree and its ancestors at full width', () => {
  const t = decodeFlamebearer(SINGLE);
  const start = computeStarts(t, t.total);
  assert.deepEqual(Array.from(start), [0, 0, 0, 0, 40]);
  const rects = new RectList();
  layoutViewport(t, start, t.total, { x0: 0, x1: 100, width: 1000, depth0: 0, depth1: 10 }, rects);
  assert.equal(rects.count, 5);
  const byNode = new Map<number, { x: number; w: number }>();
  for (let k = 0; k < rects.count; k++) byNode.set(rects.node[k]!, { x: rects.x[k]!, w: rects.w[k]! });
  const c = find(t, 'main', 'c');
  assert.deepEqual(byNode.get(c), { x: 400, w: 600 });

  const a = find(t, 'main', 'a');
  const { x0, x1 } = focusRange(start, t.total, a);
  layoutViewport(t, start, t.total, { x0, x1, width: 1000, depth0: 0, depth1: 10 }, rects);
  const shown = new Map<number, { x: number; w: number }>();
  for (let k = 0; k < rects.count; k++) shown.set(rects.node[k]!, { x: rects.x[k]!, w: rects.w[k]! });
  assert.equal(shown.has(c), false, 'the sibling of the focused frame is culled');
  assert.deepEqual(shown.get(0), { x: 0, w: 1000 }, 'root spans the width');
  assert.deepEqual(shown.get(a), { x: 0, w: 1000 });
  assert.deepEqual(shown.get(find(t, 'main', 'a', 'b')), { x: 0, w: 750 });
});

test('layout: only the visible rows are laid out', () => {
  const b = new TreeBuilder();
  const deep = Array.from({ length: 300 }, (_, i) => `f${i}`);
  b.addStack(deep, 10);
  const t = b.finish();
  const start = computeStarts(t, t.total);
  const rects = new RectList();
  layoutViewport(t, start, t.total, { x0: 0, x1: 10, width: 500, depth0: 100, depth1: 119 }, rects);
  assert.equal(rects.count, 20);
  for (let k = 0; k < rects.count; k++) assert.ok(rects.depth[k]! >= 100 && rects.depth[k]! <= 119);
});

test('layout: narrow frames are merged into runs, none is lost', () => {
  const b = new TreeBuilder();
  b.addStack(['main', 'big'], 100_000);
  for (let i = 0; i < 1000; i++) b.addStack(['main', `tiny${String(i).padStart(4, '0')}`, 'leaf'], 1);
  const t = b.finish();
  const start = computeStarts(t, t.total);
  const rects = new RectList();
  layoutViewport(t, start, t.total, { x0: 0, x1: t.numTicks, width: 1000, depth0: 0, depth1: 10 }, rects);
  let mergedFrames = 0;
  let mergedWeight = 0;
  for (let m = 0; m < rects.mergedCount; m++) {
    if (rects.depth[findRect(rects, -1 - m)] !== 2) continue;
    mergedFrames += rects.mergedFrames[m]!;
    mergedWeight += rects.mergedWeight[m]!;
  }
  assert.equal(mergedFrames, 1000, 'every tiny frame is inside a merged run');
  assert.equal(mergedWeight, 1000);
  for (let k = 0; k < rects.count; k++) assert.ok(rects.w[k]! >= 1, 'merged runs are at least 1 px wide');
  // The leaves below the tiny frames are not drawn one by one either.
  assert.ok(rects.count < 20, `${rects.count} rectangles`);
  // Search marks a merged run that hides a match.
  const { match } = matchNames(t.names, 'tiny0500');
  layoutViewport(t, start, t.total, { x0: 0, x1: t.numTicks, width: 1000, depth0: 0, depth1: 10 }, rects, { nameMatch: match });
  let marked = 0;
  for (let m = 0; m < rects.mergedCount; m++) marked += rects.mergedMatch[m]!;
  assert.equal(marked, 1);
});

function findRect(rects: RectList, node: number): number {
  for (let k = 0; k < rects.count; k++) if (rects.node[k] === node) return k;
  return -1;
}

test('search: substring (case-insensitive), /regex/, invalid regex', () => {
  const names = ['main', 'HotLoop', 'hotpath', 'cold'];
  assert.deepEqual(Array.from(matchNames(names, 'hot').match!), [0, 1, 1, 0]);
  assert.deepEqual(Array.from(matchNames(names, '/^hot/').match!), [0, 1, 1, 0]);
  assert.deepEqual(Array.from(matchNames(names, '/^hot/s').match!), [0, 1, 1, 0], 'always case-insensitive');
  assert.equal(matchNames(names, '').match, null);
  const bad = matchNames(names, '/(/');
  assert.equal(bad.count, 0);
  assert.ok(bad.error);
});

test('function table counts recursion once in total and sums self', () => {
  const b = new TreeBuilder();
  b.addStack(['main', 'rec', 'rec', 'rec', 'leaf'], 10);
  b.addStack(['main', 'rec'], 5);
  b.addStack(['main', 'other', 'leaf'], 20);
  const t = b.finish();
  const table = functionTable(t);
  const row = (name: string): number => {
    for (let r = 0; r < table.rows; r++) if (t.names[table.name[r]!] === name) return r;
    throw new Error(name);
  };
  assert.equal(table.total[row('rec')], 15);
  assert.equal(table.self[row('rec')], 5);
  assert.equal(table.total[row('leaf')], 30);
  assert.equal(table.self[row('leaf')], 30);
  assert.equal(table.total[row('main')], 35);
  const order = sortRows(t, table, 'self');
  assert.equal(t.names[table.name[order[0]!]!], 'leaf');
  const filtered = sortRows(t, table, 'total', true, matchNames(t.names, 're').match);
  assert.deepEqual(
    Array.from(filtered, (r) => t.names[table.name[r]!]),
    ['rec'],
  );
  assert.equal(matchedTotal(t, matchNames(t.names, 'rec').match!), 15);
});

test('sandwich: callers and callees of one function, merged', () => {
  const b = new TreeBuilder();
  b.addStack(['main', 'handler', 'parse', 'scan'], 30);
  b.addStack(['main', 'batch', 'parse', 'alloc'], 10);
  b.addStack(['main', 'batch', 'parse'], 5);
  b.addStack(['main', 'idle'], 55);
  const t = b.finish();
  const s = sandwich(t, t.names.indexOf('parse'));
  assert.equal(s.total, 45);
  assert.deepEqual(
    s.directCallers.map((c) => [c.name, c.total]),
    [
      ['handler', 30],
      ['batch', 15],
    ],
  );
  assert.deepEqual(
    s.directCallees.map((c) => [c.name, c.total]),
    [
      ['scan', 30],
      ['alloc', 10],
    ],
  );
  assert.equal(s.callers.total[0], 45);
  assert.equal(s.callees.self[0], 5);
  // Callers of callers: main above both.
  const main = find(s.callers, 'handler', 'main');
  assert.equal(s.callers.total[main], 30);
  assert.equal(s.callers.self[main], 30);
});

test('diff: relative change, buckets, new and removed frames, rows sorted by delta', () => {
  const b = new TreeBuilder('double');
  // left 100 samples: hot 10%, cold 80%, gone 10%; right 200 samples: hot 40%, cold 50%, fresh 10%
  b.addStack(['main', 'hot'], 10, 80);
  b.addStack(['main', 'cold'], 80, 100);
  b.addStack(['main', 'gone'], 10, 0);
  b.addStack(['main', 'fresh'], 0, 20);
  const t = b.finish();
  assert.ok(Math.abs(diffChange(10, 100, 80, 200, 'relative') - 3) < 1e-9);
  assert.equal(diffChange(10, 100, 80, 200, 'absolute'), 7);
  assert.equal(diffChange(0, 100, 5, 200, 'relative'), Infinity);
  assert.equal(diffBucket(0), DIFF_NEUTRAL);
  assert.ok(diffBucket(3) > diffBucket(0.3) && diffBucket(0.3) > DIFF_NEUTRAL);
  assert.ok(diffBucket(-0.5) < DIFF_NEUTRAL);
  const buckets = diffNodeBuckets(t, 'relative');
  assert.equal(buckets[find(t, 'main', 'fresh')], DIFF_NEW);
  assert.equal(buckets[find(t, 'main', 'gone')], DIFF_REMOVED);
  // cold: 80% → 50%: an improvement in relative mode, a regression in absolute (80 → 100 samples).
  assert.ok(buckets[find(t, 'main', 'cold')]! < DIFF_NEUTRAL);
  assert.ok(diffNodeBuckets(t, 'absolute')[find(t, 'main', 'cold')]! > DIFF_NEUTRAL);

  const rows = diffRows(t, functionTable(t), 'self', 'relative');
  assert.equal(rows[0]!.name, 'hot');
  assert.ok(Math.abs(rows[0]!.left - 10) < 1e-9);
  assert.ok(Math.abs(rows[0]!.right - 40) < 1e-9);
  assert.ok(Math.abs(rows[0]!.delta - 30) < 1e-9);
  assert.equal(rows.find((r) => r.name === 'fresh')!.status, 'new');
  assert.equal(rows.find((r) => r.name === 'gone')!.status, 'removed');
  assert.equal(rows.at(-1)!.name, 'cold');

  // Relative weights: each side counts as one, so the root weighs 2.
  const w = diffWeights(t, 'relative');
  assert.equal(w[0], 2);
  assert.equal(diffWeights(t, 'relative', 'left')[find(t, 'main', 'fresh')], 0);
  const model = diffModel(t, 'relative');
  assert.match(model.labelOf(find(t, 'main', 'fresh')), /^\+ fresh/);
});

test('frame names: kind, location and binary', () => {
  const k = (n: string): string => parseFrame(n).kind;
  assert.equal(k('do_syscall_64'), 'kernel');
  assert.equal(k('[k] tcp_sendmsg'), 'kernel');
  assert.equal(k('vfs_read [kernel.kallsyms]'), 'kernel');
  assert.equal(k('JS:*fib /app/server.js:10:3'), 'jit');
  assert.equal(k('LazyCompile:~handler file:///app/x.mjs:4'), 'jit');
  assert.equal(k('Builtins_InterpreterEntryTrampoline'), 'runtime');
  assert.equal(k('v8::internal::Heap::Scavenge()'), 'runtime');
  assert.equal(k('runtime.mallocgc'), 'runtime');
  assert.equal(k('__libc_start_main [libc.so.6]'), 'runtime');
  assert.equal(k('burn_cpu (workload.c:42)'), 'native');
  assert.equal(k('[unknown] 0x7f00'), 'unknown');
  const f = parseFrame('compute_hash (src/hash.c:120) [libfoo.so]');
  assert.equal(f.fn, 'compute_hash');
  assert.equal(f.location, 'src/hash.c:120');
  assert.equal(f.binary, 'libfoo.so');
  assert.equal(parseFrame('libssl.so.3!SSL_write').binary, 'libssl.so.3');
  assert.equal(parseFrame('github.com/acme/api.(*Server).Handle').pkg, 'github.com/acme/api');
  assert.equal(parseFrame('tokio::runtime::park').pkg, 'tokio');
});

test('frame sources from the server (metadata.frames) give file:line, binary and kind', () => {
  const tree = decodeFlamebearer({
    flamebearer: {
      names: ['total', 'kilnSrcMain', 'kilnSrcWrite', 'kilnSrcTick', 'kilnSrcBare'],
      levels: [
        [0, 4, 0, 0],
        [0, 4, 0, 1],
        [0, 2, 2, 2, 0, 1, 1, 3, 0, 1, 1, 4],
      ],
      numTicks: 4,
      maxSelf: 2,
    },
    metadata: {
      format: 'single',
      frames: {
        files: ['', 'src/main.c', '', '', ''],
        lines: [0, 12, 0, 0, 0],
        binaries: ['', 'shop', 'libc.so.6', '[kernel.kallsyms]', ''],
      },
    },
  });
  // The sources belong to the tree: frameInfo reads them from it, parseFrame(name) alone never sees them.
  const frame = (name: string) => frameInfo(tree, tree.names.indexOf(name));
  const main = frame('kilnSrcMain');
  assert.equal(main.location, 'src/main.c:12');
  assert.equal(main.binary, 'shop');
  assert.equal(main.kind, 'native');
  assert.equal(main.pkg, 'shop');
  assert.equal(frame('kilnSrcWrite').kind, 'runtime');
  assert.equal(frame('kilnSrcTick').kind, 'kernel');
  const bare = frame('kilnSrcBare');
  assert.equal(bare.location, undefined);
  assert.equal(bare.binary, undefined);
  assert.equal(parseFrame('kilnSrcMain').location, undefined, 'decoding a tree changes nothing outside it');
  // A sandwich of the tree keeps the sources of its names.
  const { callers } = sandwich(tree, tree.names.indexOf('kilnSrcWrite'));
  assert.equal(frameInfo(callers, callers.names.indexOf('kilnSrcMain')).binary, 'shop');
});

test('single model colours by kind; percent formatting', () => {
  const b = new TreeBuilder();
  b.addStack(['main', 'do_syscall_64'], 1);
  b.addStack(['main', 'JS:*fib /a.js:1'], 1);
  const t = b.finish();
  const m = singleModel(t);
  const sys = m.bucketOf(find(t, 'main', 'do_syscall_64'));
  const js = m.bucketOf(find(t, 'main', 'JS:*fib /a.js:1'));
  assert.notEqual(m.palette.fill[sys], m.palette.fill[js]);
  assert.equal(m.labelOf(find(t, 'main', 'JS:*fib /a.js:1')), 'JS:*fib');
  assert.equal(formatPercent(0.4), '40.0%');
  assert.equal(formatPercent(0.05), '5.00%');
});

test('diff significance: rows and frames within sampling noise are marked, real changes and absences are not', () => {
  const b = new TreeBuilder('double');
  // 1,000 samples a side (one sample = 10): hot 10% → 40%, warm 30% → 30.2%, one-sample frames only on one side.
  b.addStack(['main', 'hot'], 1000, 4000);
  b.addStack(['main', 'warm'], 3000, 3020);
  b.addStack(['main', 'cold'], 5990, 2970);
  b.addStack(['main', 'blip'], 10, 0);
  b.addStack(['main', 'fresh'], 0, 10);
  const t = b.finish();
  const rows = diffRows(t, functionTable(t), 'self', 'relative');
  const of = (name: string) => rows.find((r) => r.name === name)!;
  assert.equal(rows[0]!.name, 'hot');
  assert.equal(of('hot').significant, true);
  assert.equal(of('cold').significant, true);
  assert.equal(of('warm').significant, false);
  // Present on one side only, but one sample: the status says where it is, significance says it is noise.
  assert.equal(of('fresh').status, 'new');
  assert.equal(of('fresh').significant, false);
  assert.equal(of('blip').significant, false);

  const nodes = significantNodes(t);
  assert.equal(nodes[find(t, 'main', 'hot')], 1);
  assert.equal(nodes[find(t, 'main', 'warm')], 0);
  const model = diffModel(t, 'relative', 'both', nodes);
  assert.equal(model.bucketOf(find(t, 'main', 'fresh')), DIFF_NEUTRAL);
  assert.equal(model.labelOf(find(t, 'main', 'fresh')), 'fresh');
  assert.equal(model.bucketOf(find(t, 'main', 'warm')), DIFF_NEUTRAL);
  assert.ok(model.bucketOf(find(t, 'main', 'hot')) > DIFF_NEUTRAL);
});
