// A span's latency broken down, and the retransmits on its connection while it was open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spanBreakdown } from '../src/signals/breakdown.js';
import { connectionKey, RetransmitLog } from '../src/signals/retransmit-log.js';

const tuple = { family: 'ipv4' as const, localAddress: '10.0.0.1', localPort: 80, remoteAddress: '10.0.0.2', remotePort: 40000 };

test('on-CPU is what the three off-CPU parts leave of the duration', () => {
  assert.deepEqual(spanBreakdown(100_000_000, { runQueueNs: 10_000_000, throttledNs: 30_000_000, blockedNs: 20_000_000 }, 2), {
    onCpuNs: 40_000_000,
    runQueueNs: 10_000_000,
    throttledNs: 30_000_000,
    offCpuNs: 20_000_000,
    retransmits: 2,
  });
  assert.deepEqual(spanBreakdown(5_000, { runQueueNs: 0, throttledNs: 0, blockedNs: 0 }, 0), {
    onCpuNs: 5_000,
    runQueueNs: 0,
    throttledNs: 0,
    offCpuNs: 0,
    retransmits: 0,
  });
});

test('off-CPU parts beyond the duration are scaled down to it, nothing on the CPU, and the parts still add up', () => {
  const b = spanBreakdown(1_000, { runQueueNs: 300, throttledNs: 600, blockedNs: 300 }, 0);
  assert.equal(b.onCpuNs, 0);
  assert.equal(b.runQueueNs, 250);
  assert.equal(b.throttledNs, 500);
  assert.equal(b.offCpuNs, 250);
  const odd = spanBreakdown(1_001, { runQueueNs: 1_000, throttledNs: 1_000, blockedNs: 1_000 }, 0);
  assert.equal(odd.onCpuNs + odd.runQueueNs + odd.throttledNs + odd.offCpuNs, 1_001);
  assert.ok(odd.runQueueNs >= 0 && odd.throttledNs >= 0 && odd.offCpuNs >= 0);
});

test('retransmits count on their own connection within [start, end] only', () => {
  const log = new RetransmitLog();
  log.add({ tsNs: 100n, connection: tuple, segments: 3, pid: 1 });
  log.add({ tsNs: 200n, connection: tuple, segments: 2, pid: 1 });
  log.add({ tsNs: 300n, connection: tuple, segments: 7, pid: 1 });
  log.add({ tsNs: 150n, connection: { ...tuple, remotePort: 40001 }, segments: 50, pid: 1 });
  const key = connectionKey('10.0.0.1', 80, '10.0.0.2', 40000);
  assert.equal(log.segments(key, 100n, 200n), 5);
  assert.equal(log.segments(key, 201n, 299n), 0);
  assert.equal(log.segments(connectionKey('10.0.0.1', 80, '10.0.0.9', 40000), 0n, 1000n), 0);
});

test('an IPv4-mapped address names the same connection as its IPv4 form', () => {
  assert.equal(connectionKey('::ffff:10.0.0.1', 80, '::ffff:10.0.0.2', 40000), connectionKey('10.0.0.1', 80, '10.0.0.2', 40000));
  assert.notEqual(connectionKey('::1', 80, '::1', 40000), connectionKey('1', 80, '1', 40000));
});

test('the log forgets by age and stays within its bound, oldest first', () => {
  const log = new RetransmitLog({ keepNs: 1_000n, maxEvents: 3 });
  const key = connectionKey('10.0.0.1', 80, '10.0.0.2', 40000);
  for (const ts of [1n, 2n, 3n, 4n]) log.add({ tsNs: ts, connection: tuple, segments: 1, pid: 1 });
  assert.equal(log.evicted, 1);
  assert.equal(log.segments(key, 0n, 10n), 3);
  log.add({ tsNs: 2_000n, connection: tuple, segments: 1, pid: 1 });
  log.prune(2_500n);
  assert.equal(log.segments(key, 0n, 10_000n), 1);
});
