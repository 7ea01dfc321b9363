// Query API end to end against the real CLI server: diff, node cap, selectors, literal label
// values, series, labels, time formats and the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DiffResponse } from '@kiln/api/http';
import { startServer, type KilnServer } from './lib/kiln.js';
import { flameNodes, getJson, gzipPprof, ingest, makePprof, pathTotal, type FlamebearerJson } from './lib/server-api.js';

const TIMEOUT = 180_000;
const MS = 10_000_000; // one folded sample at the default 100 Hz, in nanoseconds

describe('query API', () => {
  let server: KilnServer;
  const t = Math.floor(Date.now() / 1000) - 600;
  const range = { from: t - 60, until: t + 60 };
  const fg = (query: string, extra: Record<string, string | number> = {}) =>
    getJson<FlamebearerJson & { error?: string }>(server.url, '/api/v1/flamegraph', { query, ...range, ...extra });

  before(async () => {
    server = await startServer();
    // Two deploys of one service: stacks only in v1, only in v2, and in both.
    const v1 = 'main;shared;both 10\nmain;old_only 4\nmain 1\n';
    const v2 = 'main;shared;both 6\nmain;new_only 9\nmain;shared 2\n';
    for (const [name, body] of [
      ['checkout{version=v1,pod=checkout-1,namespace=shop}', v1],
      ['checkout{version=v2,pod=checkout-2,namespace=shop}', v2],
      ['kube-proxy{version=v9,pod=kp-1,namespace=kube-system}', 'proxy;loop 20\n'],
    ] as const) {
      const r = await ingest(server.url, { name, format: 'folded', from: t }, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(async () => {
    await server?.stop();
  });

  test(
    'diff of two label sets: stacks only left, only right and both, exact per-side totals in one answer',
    { timeout: TIMEOUT },
    async () => {
      const d = await getJson<DiffResponse>(server.url, '/api/v1/diff', {
        left: '{service="checkout",version="v1"}',
        right: '{service="checkout",version="v2"}',
        ...range,
      });
      assert.equal(d.status, 200, JSON.stringify(d.body));
      assert.equal(d.body.metadata.format, 'double');
      assert.equal(d.body.leftTicks, 15 * MS);
      assert.equal(d.body.rightTicks, 17 * MS);
      assert.equal(d.body.flamebearer.numTicks, 32 * MS);
      assert.ok(
        d.body.flamebearer.levels.every((l) => l.length % 7 === 0),
        'septuples',
      );
      const at = (path: string[]) => [pathTotal(d.body, path, 'left'), pathTotal(d.body, path, 'right')];
      assert.deepEqual(at(['main']), [15 * MS, 17 * MS]);
      assert.deepEqual(at(['main', 'old_only']), [4 * MS, 0]);
      assert.deepEqual(at(['main', 'new_only']), [0, 9 * MS]);
      assert.deepEqual(at(['main', 'shared', 'both']), [10 * MS, 6 * MS]);
      assert.deepEqual(at(['main', 'shared']), [10 * MS, 8 * MS]);
      const main = flameNodes(d.body).find((n) => n.name === 'main')!;
      assert.deepEqual([main.self, main.rSelf], [1 * MS, 0]);
      // Per function, sorted by the change of self share: new_only 0 → 53%, both 67% → 35%, …
      assert.deepEqual(
        d.body.metadata.changes.map((c) => [c.name, c.leftSelf / MS, c.rightSelf / MS, c.leftTotal / MS, c.rightTotal / MS]),
        [
          ['new_only', 0, 9, 0, 9],
          ['both', 10, 6, 10, 6],
          ['old_only', 4, 0, 4, 0],
          ['shared', 0, 2, 10, 8],
          ['main', 1, 0, 15, 17],
        ],
      );
      // A 31 pp swing over 15 and 17 samples is within sampling noise.
      assert.equal(d.body.metadata.changes.find((c) => c.name === 'both')?.significant, false);

      // Per-side time ranges: the right side in an empty hour has nothing.
      const shifted = await getJson<DiffResponse>(server.url, '/api/v1/diff', {
        left: '{service="checkout"}',
        right: '{service="checkout"}',
        ...range,
        rightFrom: t - 7200,
        rightUntil: t - 3600,
      });
      assert.equal(shifted.body.leftTicks, 32 * MS);
      assert.equal(shifted.body.rightTicks, 0);
    },
  );

  test('maxNodes truncation keeps numTicks exact and puts the remainder in other', { timeout: TIMEOUT }, async () => {
    const full = await fg('{service="checkout"}');
    assert.equal(full.body.metadata.truncated, false);
    assert.equal(full.body.flamebearer.numTicks, 32 * MS);
    const cut = await fg('{service="checkout"}', { maxNodes: 4 });
    assert.equal(cut.status, 200);
    assert.equal(cut.body.metadata.truncated, true);
    assert.equal(cut.body.flamebearer.numTicks, 32 * MS);
    const nodes = flameNodes(cut.body);
    assert.ok(nodes.length <= 4, `${nodes.length} nodes`);
    const other = nodes.filter((n) => n.name === 'other');
    assert.ok(other.length >= 1, JSON.stringify(cut.body.flamebearer));
    // Every level still adds up: children (kept and other) plus self equal the parent.
    const main = nodes.find((n) => n.name === 'main')!;
    const children = nodes.filter((n) => n.depth === 2);
    assert.equal(children.reduce((s, n) => s + n.total, 0) + main.self, main.total);
    const bad = await fg('{}', { maxNodes: 'lots' });
    assert.equal(bad.status, 400);
  });

  test('selectors: each operator, profile-type prefix, {} and malformed ones', { timeout: TIMEOUT }, async () => {
    const ticks = async (q: string) => {
      const r = await fg(q);
      assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
      return r.body.flamebearer.numTicks / MS;
    };
    assert.equal(await ticks('{}'), 52);
    assert.equal(await ticks('cpu{}'), 52);
    assert.equal(await ticks('cpu'), 52);
    assert.equal(await ticks('{service="checkout"}'), 32);
    assert.equal(await ticks('{service!="checkout"}'), 20);
    assert.equal(await ticks('{version="v1"}'), 15);
    assert.equal(await ticks('{service="checkout",version!="v1"}'), 17);
    assert.equal(await ticks('{pod=~"checkout-.*"}'), 32);
    assert.equal(await ticks('{pod=~"checkout"}'), 0, '=~ is anchored');
    assert.equal(await ticks('{namespace!~"kube-.*"}'), 32);
    assert.equal(await ticks("{ version = 'v2' , }"), 17);
    assert.equal(await ticks('{service=~"checkout|kube-proxy"}'), 52);
    assert.equal(await ticks('{missing=""}'), 52, 'an absent label equals ""');
    assert.equal(await ticks('wall{}'), 0);
    for (const bad of [
      '{service="checkout"',
      '{service=checkout}',
      '{service=="x"}',
      '{="x"}',
      'cpu{a="b"} extra',
      '{a~"x"}',
      '{a=~"("}',
      '{1a="x"}',
      '{a="x" b="y"}',
    ]) {
      const r = await fg(bad);
      assert.equal(r.status, 400, `${bad} → ${r.status}`);
      assert.match(r.body.error ?? '', /selector|regular expression/, bad);
    }
  });

  test('label values full of quotes, backslashes and SQL are stored and matched literally', { timeout: TIMEOUT }, async () => {
    const nasty = [
      `it's "quoted"`,
      'back\\slash\\\\double',
      "x'); DROP TABLE kiln_samples; --",
      '{service="checkout"}',
      'tab\there\nnewline',
      '\u00e9t\u00e9 \u{1F525} %s %d {p0:String}',
    ];
    const p = makePprof(
      [['cpu', 'nanoseconds']],
      nasty.map((v, i) => ({ stack: ['nasty', `f${i}`], values: [(i + 1) * 1000], labels: { service: 'nasty', v } })),
      { timeMs: t * 1000 },
    );
    const up = await ingest(server.url, { name: 'nasty', format: 'pprof', from: t }, gzipPprof(p));
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const values = await getJson<{ values: string[] }>(server.url, '/api/v1/labels/v/values', { query: '{service="nasty"}', ...range });
    assert.deepEqual([...values.body.values].sort(), [...nasty].sort());
    const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
    for (const [i, v] of nasty.entries()) {
      const r = await fg(`{service="nasty",v=${quote(v)}}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.flamebearer.numTicks, (i + 1) * 1000, v);
      assert.equal(pathTotal(r.body, ['nasty', `f${i}`]), (i + 1) * 1000);
    }
    // Everything else is untouched.
    assert.equal((await fg('{service="checkout"}')).body.flamebearer.numTicks, 32 * MS);
  });

  test('series with step and groupBy, labels, profile types, time formats', { timeout: TIMEOUT }, async () => {
    const s = await getJson<{ series: { labels: Record<string, string>; points: [number, number][]; total: number }[]; step: number }>(
      server.url,
      '/api/v1/series',
      {
        query: '{service="checkout"}',
        ...range,
        step: '30s',
        groupBy: 'version',
      },
    );
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.body.step, 30);
    assert.deepEqual(
      s.body.series.map((x) => [x.labels.version, x.total]),
      [
        ['v1', 15 * MS],
        ['v2', 17 * MS],
      ],
    );
    const v1 = s.body.series[0]!;
    assert.equal(v1.points.filter(([, v]) => v > 0).length, 1);
    assert.ok(v1.points.every(([ts]) => ts % 30_000 === 0));
    const total = await getJson<{ series: { total: number }[] }>(server.url, '/api/v1/series', { query: '{}', ...range });
    assert.equal(total.body.series.length, 1);
    assert.equal(total.body.series[0]!.total, 52 * MS + 21_000);

    const names = await getJson<{ names: string[] }>(server.url, '/api/v1/labels', range);
    assert.deepEqual(names.body.names, ['namespace', 'pod', 'service', 'v', 'version']);
    const pods = await getJson<{ values: string[] }>(server.url, '/api/v1/labels/pod/values', { query: '{namespace="shop"}', ...range });
    assert.deepEqual(pods.body.values, ['checkout-1', 'checkout-2']);
    const types = await getJson<{ profileTypes: { name: string; units: string }[] }>(server.url, '/api/v1/profile-types', range);
    assert.deepEqual(types.body.profileTypes, [{ name: 'cpu', unit: 'nanoseconds', units: 'nanoseconds' }]);

    // The same range in unix ms, RFC 3339 and relative form.
    const iso = (s: number) => new Date(s * 1000).toISOString();
    for (const r of [
      { from: (t - 60) * 1000, until: (t + 60) * 1000 },
      { from: iso(t - 60), until: iso(t + 60) },
      { from: 'now-1h', until: 'now' },
    ]) {
      const a = await getJson<FlamebearerJson>(server.url, '/api/v1/flamegraph', { query: '{service="checkout"}', ...r });
      assert.equal(a.body.flamebearer.numTicks, 32 * MS, JSON.stringify(r));
    }
    for (const bad of [{ from: 'yesterday' }, { from: t + 60, until: t - 60 }, { until: '2024-13-45' }]) {
      const a = await getJson<{ error: string }>(server.url, '/api/v1/flamegraph', { query: '{}', ...bad });
      assert.equal(a.status, 400, JSON.stringify(bad));
    }
    const badStep = await getJson<{ error: string }>(server.url, '/api/v1/series', { query: '{}', ...range, step: 'fast' });
    assert.equal(badStep.status, 400);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /kiln_query_duration_seconds_count\{endpoint="flamegraph",result="ok"\} [1-9]/);
    assert.match(metrics, /kiln_query_duration_seconds_count\{endpoint="diff",result="ok"\} [1-9]/);
  });

  test('GET /api/openapi.json documents every route', { timeout: TIMEOUT }, async () => {
    const doc = await getJson<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(server.url, '/api/openapi.json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    for (const path of [
      '/ingest',
      '/api/v1/flamegraph',
      '/api/v1/diff',
      '/api/v1/pprof',
      '/api/v1/series',
      '/api/v1/profile-types',
      '/api/v1/labels',
      '/api/v1/labels/{name}/values',
      '/api/v1/profiles',
      '/api/v1/profiles/{id}/pprof',
      '/api/v1/status',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      assert.ok(doc.body.paths[path], `${path} in ${Object.keys(doc.body.paths).join(', ')}`);
    }
    const notFound = await getJson<{ error: string }>(server.url, '/api/v1/profiles/00000000-0000-0000-0000-000000000000/pprof');
    assert.equal(notFound.status, 404);
    const badId = await getJson<{ error: string }>(server.url, '/api/v1/profiles/nope/pprof');
    assert.equal(badId.status, 400);
  });

  test("GET /api/openapi.json documents the agents' health routes by their schemas", { timeout: TIMEOUT }, async () => {
    type Schema = { properties?: Record<string, Schema>; items?: Schema; required?: string[] };
    type Operation = {
      requestBody?: { content: Record<string, { schema: Schema }> };
      responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
    };
    const doc = await getJson<{ paths: Record<string, Record<string, Operation>> }>(server.url, '/api/openapi.json');
    assert.equal(doc.status, 200);
    const report = doc.body.paths['/api/v1/agents/report']?.post;
    assert.ok(report, `POST /api/v1/agents/report in ${Object.keys(doc.body.paths).join(', ')}`);
    assert.ok(report.responses['204'], 'answered 204 once stored');
    const body = report.requestBody?.content['application/json']?.schema;
    assert.deepEqual(body?.required?.toSorted(), [
      'intervalMs',
      'node',
      'processesTracked',
      'profilesDropped',
      'samples',
      'samplesLost',
      'startedAt',
      'version',
    ]);
    const list = doc.body.paths['/api/v1/agents']?.get;
    assert.ok(list, 'GET /api/v1/agents');
    const agent = list.responses['200']?.content?.['application/json']?.schema.properties?.agents?.items;
    for (const field of ['node', 'version', 'lastSeen', 'samplesLost', 'processesTracked', 'profilesDropped']) {
      assert.ok(agent?.properties?.[field], `agents[].${field} is documented`);
    }
  });
});
