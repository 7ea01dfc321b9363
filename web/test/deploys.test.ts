// Unit tests of the deploys page's domain logic (web/src/lib/deploys.ts), run under node:test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Series } from '@kiln/api/http';
import { summariseVersions, withSampleCounts } from '../src/lib/deploys';

const STEP = 10_000;
const T0 = 1_700_000_000_000;

function series(version: string | undefined, points: [number, number][], seen?: { firstSeen: number; lastSeen: number }): Series {
  const total = points.reduce((a, [, v]) => a + v, 0);
  return {
    labels: version === undefined ? { service: 'api' } : { service: 'api', version },
    points,
    total,
    firstSeen: seen?.firstSeen ?? null,
    lastSeen: seen?.lastSeen ?? null,
  };
}

test('versions: first and last seen from the steps with samples, newest deploy first', () => {
  const versions = summariseVersions(
    [
      series('v1', [
        [T0, 0],
        [T0 + STEP, 5],
        [T0 + 2 * STEP, 7],
      ]),
      series('v2', [
        [T0 + 3 * STEP, 1],
        [T0 + 4 * STEP, 0],
      ]),
    ],
    STEP,
    T0 + 100 * STEP,
  );
  assert.deepEqual(versions, [
    { version: 'v2', first: T0 + 3 * STEP, last: T0 + 4 * STEP, value: 1 },
    { version: 'v1', first: T0 + STEP, last: T0 + 3 * STEP, value: 12 },
  ]);
});

test('versions: the server’s exact first/last seen win; the last step ends at the range’s end', () => {
  const [v] = summariseVersions([series('v1', [[T0, 3]], { firstSeen: T0 + 1234, lastSeen: T0 + 5678 })], STEP, T0 + 5 * STEP);
  assert.equal(v!.first, T0 + 1234);
  assert.equal(v!.last, T0 + 5678);
  const [clipped] = summariseVersions([series('v1', [[T0, 3]])], STEP, T0 + 4000);
  assert.equal(clipped!.last, T0 + 4000, 'not in the future');
});

test('versions: series without a version label or without samples are left out; ties by version number', () => {
  const versions = summariseVersions(
    [series(undefined, [[T0, 9]]), series('v3', [[T0, 0]]), series('v9', [[T0, 1]]), series('v10', [[T0, 1]])],
    STEP,
    T0 + STEP,
  );
  assert.deepEqual(
    versions.map((v) => v.version),
    ['v10', 'v9'],
  );
});

test('sample counts join by version; versions without any keep none', () => {
  const versions = summariseVersions([series('v1', [[T0, 4]]), series('v2', [[T0 + STEP, 4]])], STEP, T0 + 10 * STEP);
  const counted = withSampleCounts(versions, [
    series('v1', [
      [T0, 2],
      [T0 + STEP, 3],
    ]),
    series(undefined, [[T0, 100]]),
  ]);
  assert.equal(counted.find((v) => v.version === 'v1')!.samples, 5);
  assert.equal(counted.find((v) => v.version === 'v2')!.samples, undefined);
});
