// cpu.stat and the quota files of cgroup v1 and v2, and the growth of the counters between polls.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CpuStatDeltas, parseCfsQuota, parseCpuMax, parseCpuStat, readCpuStat, type CpuStat } from '../src/signals/cpu-stat.js';

const v1Stat = 'nr_periods 120\nnr_throttled 90\nthrottled_time 8500000000\nnr_bursts 0\nburst_time 0\n';
const v2Stat =
  'usage_usec 1000\nuser_usec 900\nsystem_usec 100\nnr_periods 120\nnr_throttled 90\nthrottled_usec 8500000\nnr_bursts 0\nburst_usec 0\n';

test('cpu.stat: v1 counts throttled time in ns, v2 in µs; both come out in ns', () => {
  assert.deepEqual(parseCpuStat(v1Stat), { periods: 120, throttledPeriods: 90, throttledNs: 8_500_000_000 });
  assert.deepEqual(parseCpuStat(v2Stat), { periods: 120, throttledPeriods: 90, throttledNs: 8_500_000_000 });
  // A v2 cgroup without the cpu controller enabled has usage only: never throttled.
  assert.deepEqual(parseCpuStat('usage_usec 5\nuser_usec 5\nsystem_usec 0\n'), { periods: 0, throttledPeriods: 0, throttledNs: 0 });
  assert.throws(() => parseCpuStat('<html>'), /not a cpu.stat/);
});

test('quota: v2 cpu.max and v1 cfs_quota_us/cfs_period_us, none as -1', () => {
  assert.deepEqual(parseCpuMax('max 100000\n'), { quotaUs: -1, periodUs: 100_000 });
  assert.deepEqual(parseCpuMax('10000 100000\n'), { quotaUs: 10_000, periodUs: 100_000 });
  assert.throws(() => parseCpuMax('10000'), /not a cpu.max/);
  assert.deepEqual(parseCfsQuota('-1\n', '100000\n'), { quotaUs: -1, periodUs: 100_000 });
  assert.deepEqual(parseCfsQuota('10000\n', '100000\n'), { quotaUs: 10_000, periodUs: 100_000 });
  assert.throws(() => parseCfsQuota('ten', '100000'), /not a cfs quota/);
});

test('a cgroup directory of each version is read with its quota; the root has none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cpu-stat-'));
  try {
    mkdirSync(join(dir, 'v1'));
    writeFileSync(join(dir, 'v1/cpu.stat'), v1Stat);
    writeFileSync(join(dir, 'v1/cpu.cfs_quota_us'), '10000\n');
    writeFileSync(join(dir, 'v1/cpu.cfs_period_us'), '100000\n');
    mkdirSync(join(dir, 'v2'));
    writeFileSync(join(dir, 'v2/cpu.stat'), v2Stat);
    writeFileSync(join(dir, 'v2/cpu.max'), 'max 100000\n');
    mkdirSync(join(dir, 'root'));
    writeFileSync(join(dir, 'root/cpu.stat'), 'usage_usec 5\n');
    assert.deepEqual(readCpuStat(join(dir, 'v1'), 1).quota, { quotaUs: 10_000, periodUs: 100_000 });
    assert.equal(readCpuStat(join(dir, 'v1'), 1).stat.throttledNs, 8_500_000_000);
    assert.deepEqual(readCpuStat(join(dir, 'v2'), 2).quota, { quotaUs: -1, periodUs: 100_000 });
    assert.deepEqual(readCpuStat(join(dir, 'root'), 2).quota, { quotaUs: -1, periodUs: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deltas: a first reading is the baseline, later ones grow from it; a reset, a vanished or a dropped cgroup starts over', () => {
  const stats = new Map<string, CpuStat>();
  const deltas = new CpuStatDeltas((dir) => {
    const stat = stats.get(dir);
    if (stat === undefined) throw Object.assign(new Error(`ENOENT: ${dir}`), { code: 'ENOENT' });
    return { stat, quota: { quotaUs: 10_000, periodUs: 100_000 } };
  });
  const a = { id: 1n, dir: '/a' };
  stats.set('/a', { periods: 10, throttledPeriods: 5, throttledNs: 400 });
  assert.deepEqual(deltas.poll([a]), []);
  stats.set('/a', { periods: 110, throttledPeriods: 95, throttledNs: 9_000_400 });
  assert.deepEqual(deltas.poll([a]), [
    { cgroupId: 1n, periods: 100, throttledPeriods: 90, throttledNs: 9_000_000, quotaUs: 10_000, periodUs: 100_000 },
  ]);
  stats.set('/a', { periods: 3, throttledPeriods: 1, throttledNs: 10 });
  assert.deepEqual(deltas.poll([a]), [], 'counters that went down: a new cgroup, a new baseline');
  stats.set('/a', { periods: 4, throttledPeriods: 1, throttledNs: 10 });
  assert.equal(deltas.poll([a])[0]?.periods, 1);
  const errors: string[] = [];
  stats.delete('/a');
  assert.deepEqual(
    deltas.poll([a], (dir) => errors.push(dir)),
    [],
  );
  assert.deepEqual(errors, [], 'a cgroup removed is not an error');
  stats.set('/a', { periods: 50, throttledPeriods: 0, throttledNs: 0 });
  assert.deepEqual(deltas.poll([a]), [], 'back again: a baseline');
  assert.deepEqual(deltas.poll([]), []);
  assert.deepEqual(deltas.poll([a]), [], 'not polled last time: forgotten, a baseline');
});
