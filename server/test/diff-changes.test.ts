// GET /api/v1/diff's `metadata.changes` in process: two uploads drawn from one distribution are
// noise, a function moving from 10% to 40% of the samples is a significant change listed first.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { DiffResponse } from '@kiln/api/http';
import type { FastifyInstance } from 'fastify';
import { getJson, ingestFolded, testApp } from './app.js';

const t = Math.floor(Date.now() / 10_000) * 10 - 120;
const range = { from: t - 60, until: t + 60 };
const app: FastifyInstance = await testApp();

/** Deterministic uniform [0, 1) draws (a hash of seed and counter): the "random" uploads are the same every run. */
function random(seed: number): () => number {
  let n = 0;
  return () => createHash('sha256').update(`${seed}:${n++}`).digest().readUInt32LE(0) / 2 ** 32;
}

/** Folded text of `samples` samples drawn over `stacks` with their weights. */
function foldedDraw(stacks: readonly [string, number][], samples: number, rand: () => number): string {
  const sum = stacks.reduce((a, [, w]) => a + w, 0);
  const counts = new Map<string, number>();
  for (let i = 0; i < samples; i++) {
    let x = rand() * sum;
    let k = 0;
    while (k < stacks.length - 1 && x >= stacks[k]![1]) x -= stacks[k++]![1];
    const s = stacks[k]![0];
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => `${s} ${n}`).join('\n');
}

// A service's workload: 60 functions under two callers with a long tail (several seen once).
const tail = Array.from({ length: 60 }, (_, i): [string, number] => [`main;${i % 2 ? 'serve' : 'work'};fn_${i}`, 1 / (i + 1)]);
const rest = tail.slice(1).reduce((a, [, w]) => a + w, 0);
/** `hot` holds `share` of the samples, the tail the rest in its own proportions. */
const withHot = (share: number): [string, number][] => [
  ['main;serve;hot', share],
  ...tail.slice(1).map(([s, w]): [string, number] => [s, (w / rest) * (1 - share)]),
];

const rand = random(17);
for (const [name, text] of [
  ['same{version=a}', foldedDraw(tail, 8000, rand)],
  ['same{version=b}', foldedDraw(tail, 8000, rand)],
  ['shift{version=v1}', foldedDraw(withHot(0.1), 8000, rand)],
  ['shift{version=v2}', foldedDraw(withHot(0.4), 8000, rand)],
] as const) {
  const r = await ingestFolded(app, name, text, t);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('diff changes: one workload as versions a and b has no significant change', async () => {
  const r = await getJson<DiffResponse>(app, '/api/v1/diff', {
    left: '{service="same",version="a"}',
    right: '{service="same",version="b"}',
    ...range,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { changes } = r.body.metadata;
  assert.ok(changes.length >= 50, `${changes.length} functions listed`);
  assert.deepEqual(
    changes.filter((c) => c.significant),
    [],
  );
  // Totals per side add up to the ticks: every sample of every function is listed.
  const sum = (k: 'leftSelf' | 'rightSelf') => changes.reduce((a, c) => a + c[k], 0);
  assert.equal(sum('leftSelf'), r.body.leftTicks);
  assert.equal(sum('rightSelf'), r.body.rightTicks);
  // Sorted by the change of self share, largest first.
  const shift = changes.map((c) => Math.abs(c.rightSelf / r.body.rightTicks - c.leftSelf / r.body.leftTicks));
  for (let i = 1; i < shift.length; i++) assert.ok(shift[i - 1]! >= shift[i]! - 1e-12, `order at ${i}`);
});

test('diff changes: a function from 10% to 40% is significant and first; maxNodes caps the list', async () => {
  const q = { left: '{service="shift",version="v1"}', right: '{service="shift",version="v2"}', ...range };
  const r = await getJson<DiffResponse>(app, '/api/v1/diff', q);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [first] = r.body.metadata.changes;
  assert.equal(first?.name, 'hot');
  assert.equal(first.significant, true);
  const share = (v: number, ticks: number) => v / ticks;
  assert.ok(Math.abs(share(first.leftSelf, r.body.leftTicks) - 0.1) < 0.02, JSON.stringify(first));
  assert.ok(Math.abs(share(first.rightSelf, r.body.rightTicks) - 0.4) < 0.02, JSON.stringify(first));
  // Its callers' totals rose as much, but their self did not change: not significant.
  const serve = r.body.metadata.changes.find((c) => c.name === 'serve');
  assert.ok(serve && serve.rightTotal > serve.leftTotal && !serve.significant, JSON.stringify(serve));

  const capped = await getJson<DiffResponse>(app, '/api/v1/diff', { ...q, maxNodes: 5 });
  assert.equal(capped.body.metadata.changes.length, 5);
  assert.equal(capped.body.metadata.changes[0]?.name, 'hot');
});

test('diff changes are described in the OpenAPI document', async () => {
  const r = await getJson<{ paths: Record<string, { get: { responses: Record<string, unknown> } }> }>(app, '/api/openapi.json');
  const body = JSON.stringify(r.body.paths['/api/v1/diff']?.get.responses['200']);
  assert.match(body, /"changes"/);
  assert.match(body, /two-proportion z-test/);
});
