// Unit tests of the home page's domain logic (web/src/lib/home.ts), run under node:test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentStatus, Series } from '@kiln/api/http';
import { summariseVersions } from '../src/lib/deploys';
import { decodeFlamebearer } from '../src/lib/flamegraph/index';
import {
  compareParams,
  describeAge,
  exploreParams,
  hottestFunctions,
  labelSelector,
  newestDeploys,
  nodesByName,
  servicesByTotal,
  sparklinePath,
} from '../src/lib/home';

const T0 = 1_700_000_000_000;
const STEP = 60_000;

function series(labels: Record<string, string>, values: number[], lastSeen: number | null = null): Series {
  return {
    labels,
    points: values.map((v, i) => [T0 + i * STEP, v]),
    total: values.reduce((a, v) => a + v, 0),
    firstSeen: null,
    lastSeen,
  };
}

test('services: busiest first, unnamed and idle groups left out', () => {
  const rows = servicesByTotal([
    series({ service: 'api' }, [1, 2]),
    series({ service: '' }, [50]),
    series({ service: 'db' }, [5, 5]),
    series({ service: 'cron' }, [0, 0]),
    series({ service: 'web' }, [3]),
  ]);
  assert.deepEqual(
    rows.map((r) => [r.service, r.total]),
    [
      ['db', 10],
      ['api', 3],
      ['web', 3],
    ],
  );
  assert.equal(rows[0]!.points.length, 2);
});

test('nodes: by name with their last profile; uploads without a node label are not a node', () => {
  const rows = nodesByName(
    [
      series({ node: 'b' }, [1], T0 + 5000),
      series({ node: '' }, [9], T0),
      series({ node: 'a' }, [2], T0 + 9000),
      series({ node: 'gone' }, [0], null),
    ],
    [],
  );
  assert.deepEqual(rows, [
    { node: 'a', lastSeen: T0 + 9000, total: 2, health: null },
    { node: 'b', lastSeen: T0 + 5000, total: 1, health: null },
  ]);
});

test('nodes: each with its agent’s health; a node that reported health without samples is listed too', () => {
  const agent = (node: string, lastSeen: number, samplesLost: number): AgentStatus => ({
    node,
    version: '0.1.0',
    startedAt: T0 - 60_000,
    intervalMs: 10_000,
    samples: 1000,
    samplesLost,
    processesTracked: 42,
    profilesDropped: 1,
    lastSeen,
  });
  const rows = nodesByName(
    [series({ node: 'a' }, [2], T0 + 9000), series({ node: 'b' }, [1], T0 + 5000)],
    [agent('b', T0 + 7000, 3), agent('idle', T0 + 1000, 0)],
  );
  assert.deepEqual(
    rows.map((r) => [r.node, r.lastSeen, r.total, r.health?.samplesLost ?? null]),
    [
      ['a', T0 + 9000, 2, null],
      ['b', T0 + 7000, 1, 3],
      ['idle', T0 + 1000, 0, 0],
    ],
  );
  assert.deepEqual(rows[1]!.health, { version: '0.1.0', samplesLost: 3, processesTracked: 42, profilesDropped: 1 });
});

test('hottest functions: by self time across all stacks, the root left out', () => {
  // main;a;b 30 · main;a 10 · main;c 60 · main;x;b 20
  const tree = decodeFlamebearer({
    flamebearer: {
      names: ['total', 'main', 'a', 'c', 'b', 'x'],
      levels: [
        [0, 120, 0, 0],
        [0, 120, 0, 1],
        [0, 40, 10, 2, 0, 60, 60, 3, 0, 20, 0, 5],
        [0, 30, 30, 4, 60, 20, 20, 4],
      ],
      numTicks: 120,
      maxSelf: 60,
    },
    metadata: { units: 'samples', format: 'single' },
  });
  assert.deepEqual(hottestFunctions(tree, 2), [
    { name: 'c', self: 60, total: 60 },
    { name: 'b', self: 50, total: 50 },
  ]);
  // Functions without self time are not hot, however many are asked for.
  assert.deepEqual(
    hottestFunctions(tree, 10).map((f) => f.name),
    ['c', 'b', 'a'],
  );
});

test('newest deploys: each service’s newest version against the one before it, newest first', () => {
  const v = (version: string, first: number) => ({ version, first, last: first + STEP, value: 1 });
  const deploys = newestDeploys(
    new Map([
      ['api', [v('v3', T0 + 5 * STEP), v('v2', T0 + 2 * STEP), v('v1', T0)]],
      ['solo', [v('1.0', T0 + 9 * STEP)]],
      ['db', [v('b', T0 + 7 * STEP), v('a', T0 + STEP)]],
    ]),
    10,
  );
  assert.deepEqual(
    deploys.map((d) => [d.service, d.older.version, d.newer.version]),
    [
      ['db', 'a', 'b'],
      ['api', 'v2', 'v3'],
    ],
  );
  assert.equal(newestDeploys(new Map([['api', [v('v2', T0 + STEP), v('v1', T0)]]]), 0).length, 0);
});

test('newest deploys take versions as the deploys page summarises them', () => {
  const versions = summariseVersions(
    [series({ service: 'api', version: 'v1' }, [4, 4, 0, 0]), series({ service: 'api', version: 'v2' }, [0, 0, 3, 3])],
    STEP,
    T0 + 4 * STEP,
  );
  const [d] = newestDeploys(new Map([['api', versions]]), 5);
  assert.equal(d?.older.version, 'v1');
  assert.equal(d?.newer.version, 'v2');
});

test('links: explore by label with the range, compare of two versions over both deploys with a minute either side', () => {
  assert.equal(labelSelector('service', 'say "hi"'), '{service="say \\"hi\\""}');
  const explore = exploreParams(labelSelector('service', 'api'), { from: 'now-1h', until: 'now' }, { view: 'sandwich', fn: 'main' });
  assert.equal(explore.get('query'), '{service="api"}');
  assert.equal(explore.get('from'), 'now-1h');
  assert.equal(explore.get('until'), 'now');
  assert.equal(explore.get('fn'), 'main');

  const older = { version: 'v1', first: T0, last: T0 + STEP, value: 1 };
  const newer = { version: 'v2', first: T0 + 2 * STEP, last: T0 + 3 * STEP, value: 1 };
  const compare = compareParams('api', older, newer);
  assert.equal(compare.get('left'), '{service="api",version="v1"}');
  assert.equal(compare.get('right'), '{service="api",version="v2"}');
  assert.equal(compare.get('from'), String(T0 - 60_000));
  assert.equal(compare.get('until'), String(T0 + 3 * STEP + 60_000));
});

test('sparkline: an area scaled to its own maximum, clamped to the range', () => {
  const d = sparklinePath(
    [
      [T0 - STEP, 2],
      [T0 + STEP, 4],
      [T0 + 2 * STEP, 0],
    ],
    T0,
    T0 + 2 * STEP,
    100,
    20,
  );
  assert.equal(d, 'M0.0,20L0.0,10.0L50.0,0.0L100.0,20.0L100.0,20Z');
  assert.equal(sparklinePath([[T0, 0]], T0, T0 + STEP, 100, 20), '');
  assert.equal(sparklinePath([], T0, T0 + STEP, 100, 20), '');
});

test('age: seconds, then minutes, hours and days', () => {
  assert.equal(describeAge(T0 - 2000, T0), 'just now');
  assert.equal(describeAge(T0 + 2000, T0), 'just now');
  assert.equal(describeAge(T0 - 42_000, T0), '42 s ago');
  assert.equal(describeAge(T0 - 5 * 60_000, T0), '5 min ago');
  assert.equal(describeAge(T0 - 3 * 3_600_000, T0), '3 h ago');
  assert.equal(describeAge(T0 - 50 * 3_600_000, T0), '2 d ago');
});
