// The query routes in process: schemas validate and coerce parameters, handlers answer in the
// contract's shapes, and the caller's mistakes are 400s with a message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  DiffResponse,
  FlamegraphResponse,
  LabelValuesResponse,
  LabelsResponse,
  ProfileTypesResponse,
  ProfilesResponse,
  SeriesResponse,
} from '@kiln/api/http';
import { decodeFlamebearer } from '@kiln/api/flamebearer';
import type { FastifyInstance } from 'fastify';
import { getJson, ingestFolded, testApp } from './app.js';

const NS = 10_000_000; // one folded sample at the default 100 Hz
const t = Math.floor(Date.now() / 10_000) * 10 - 120; // on a 10 s step boundary
const range = { from: t - 60, until: t + 60 };
const app: FastifyInstance = await testApp();
for (const [name, text] of [
  ['checkout{version=v1}', 'main;handle;parse 3\nmain;handle;render 5\nmain;gc 2\n'],
  ['checkout{version=v2}', 'main;handle;parse 3\nmain;handle;render 9\n'],
  ['billing{version=v1}', 'main;charge 4\n'],
] as const) {
  const r = await ingestFolded(app, name, text, t);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('flamegraph: totals, metadata, maxNodes coerced from the query string', async () => {
  const r = await getJson<FlamegraphResponse>(app, '/api/v1/flamegraph', { query: '{service="checkout"}', ...range });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.flamebearer.numTicks, 22 * NS);
  assert.deepEqual(
    { ...r.body.metadata, frames: undefined },
    { format: 'single', name: 'cpu', units: 'nanoseconds', unit: 'nanoseconds', truncated: false, maxNodes: 8192, frames: undefined },
  );
  assert.equal(r.body.metadata.frames.files.length, r.body.flamebearer.names.length);
  const tree = decodeFlamebearer(r.body);
  assert.equal(tree.total[0], 22 * NS);

  const cut = await getJson<FlamegraphResponse>(app, '/api/v1/flamegraph', { query: '{service="checkout"}', ...range, maxNodes: '3' });
  assert.equal(cut.status, 200);
  assert.equal(cut.body.metadata.truncated, true);
  assert.equal(cut.body.metadata.maxNodes, 3);
  assert.equal(cut.body.flamebearer.numTicks, 22 * NS);
});

test('flamegraph: bad parameters are 400 with a message naming them', async () => {
  for (const [query, message] of [
    [{ maxNodes: 'lots' }, /maxNodes must be integer/],
    [{ maxNodes: '0' }, /maxNodes must be >= 1/],
    [{ maxNodes: '2000000' }, /maxNodes must be <= 1000000/],
    [{ query: '{service=checkout}' }, /malformed selector/],
    [{ from: 'yesterday' }, /from="yesterday" is not a time/],
    [{ from: 'now', until: 'now-1h' }, /from must be before until/],
  ] as const) {
    const r = await getJson(app, '/api/v1/flamegraph', { ...range, ...query });
    assert.equal(r.status, 400, JSON.stringify(query));
    assert.match(r.body.error ?? '', message);
  }
});

test('diff: both sides in one answer, ticks beside and inside the flamebearer', async () => {
  const r = await getJson<DiffResponse>(app, '/api/v1/diff', {
    left: '{version="v1",service="checkout"}',
    right: '{version="v2"}',
    ...range,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.leftTicks, 10 * NS);
  assert.equal(r.body.rightTicks, 12 * NS);
  assert.equal(r.body.flamebearer.leftTicks, 10 * NS);
  assert.equal(r.body.metadata.format, 'double');
  const tree = decodeFlamebearer(r.body);
  assert.equal(tree.leftTicks, 10 * NS);
  assert.equal(tree.rightTicks, 12 * NS);
  const missing = await getJson(app, '/api/v1/diff', { left: '{}', ...range });
  assert.equal(missing.status, 400);
  assert.match(missing.body.error ?? '', /left and right selectors are required/);
});

test('series: dense points, groupBy, step validation', async () => {
  const r = await getJson<SeriesResponse>(app, '/api/v1/series', { query: '{}', ...range, step: '10s', groupBy: 'service' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.step, 10);
  assert.deepEqual(
    r.body.series.map((s) => [s.labels, s.total]),
    [
      [{ service: 'billing' }, 4 * NS],
      [{ service: 'checkout' }, 22 * NS],
    ],
  );
  const billing = r.body.series[0]!;
  assert.equal(billing.points.length, (r.body.until - r.body.from) / 10_000);
  assert.ok(r.body.from <= range.from * 1000 && r.body.until >= range.until * 1000);
  assert.deepEqual(
    billing.points.filter(([, v]) => v > 0),
    [[t * 1000, 4 * NS]],
  );
  assert.equal(r.body.series[0]!.firstSeen, t * 1000);
  const bad = await getJson(app, '/api/v1/series', { ...range, step: 'often' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error ?? '', /step="often" is not a duration/);
  const tooMany = await getJson(app, '/api/v1/series', { from: 'now-30d', until: 'now', step: '1s' });
  assert.equal(tooMany.status, 400);
  const badLabel = await getJson(app, '/api/v1/series', { ...range, groupBy: '1a' });
  assert.equal(badLabel.status, 400);
});

test('profile types, label names and values', async () => {
  const types = await getJson<ProfileTypesResponse>(app, '/api/v1/profile-types', range);
  assert.deepEqual(types.body.profileTypes, [{ name: 'cpu', unit: 'nanoseconds', units: 'nanoseconds' }]);
  const names = await getJson<LabelsResponse>(app, '/api/v1/labels', range);
  assert.deepEqual(names.body.names, ['service', 'version']);
  const values = await getJson<LabelValuesResponse>(app, '/api/v1/labels/version/values', { query: '{service="checkout"}', ...range });
  assert.deepEqual(values.body, { name: 'version', values: ['v1', 'v2'] });
  const bad = await getJson(app, '/api/v1/labels/no-dash/values', range);
  assert.equal(bad.status, 400);
});

test('profiles: listed newest first, one as stored, folded turned into pprof', async () => {
  const list = await getJson<ProfilesResponse>(app, '/api/v1/profiles', { query: '{service="checkout"}', ...range, limit: '10' });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.equal(list.body.profiles.length, 2);
  assert.deepEqual(
    list.body.profiles.map((p) => p.format),
    ['folded', 'folded'],
  );
  const one = await app.inject({ method: 'GET', url: `/api/v1/profiles/${list.body.profiles[0]!.id}/pprof` });
  assert.equal(one.statusCode, 200);
  assert.equal(one.headers['content-type'], 'application/octet-stream');
  assert.deepEqual([...one.rawPayload.subarray(0, 2)], [0x1f, 0x8b]);
  const badLimit = await getJson(app, '/api/v1/profiles', { ...range, limit: '0' });
  assert.equal(badLimit.status, 400);
  assert.match(badLimit.body.error ?? '', /limit must be >= 1/);
  const badId = await getJson(app, '/api/v1/profiles/nope/pprof');
  assert.equal(badId.status, 400);
  const none = await getJson(app, '/api/v1/profiles/00000000-0000-0000-0000-000000000000/pprof');
  assert.equal(none.status, 404);
});
