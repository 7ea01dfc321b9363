// Decoded kernel records → an AgentSignalBatch, labelled, and its bytes as the server reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { unpack } from 'msgpackr';
import {
  batchSize,
  cpuStatRecords,
  episodeRecords,
  retransmitRecords,
  SignalBatchEncoder,
  waitRecords,
  type SignalLabelling,
} from '../src/signals/batch.js';

const labelling: SignalLabelling = {
  nowMs: 1_700_000_010_000,
  intervalMs: 10_000,
  monotonicToUnixNs: 1_700_000_000_000_000_000n,
  cgroupPath: (id) => (id === 1n ? '/' : `/kubepods/c${id}`),
  cgroupLabels: (id): Record<string, string> => (id === 1n ? { node: 'n1' } : { node: 'n1', service: `svc-of-c${id}` }),
  processLabels: (pid) => ({ node: 'n1', service: `svc-${pid}`, pid: String(pid) }),
  nodeLabels: { node: 'n1' },
};

test('waits and cpu.stat deltas carry their cgroup path and the labels of its processes', () => {
  assert.deepEqual(waitRecords([{ cgroupId: 5n, kind: 'throttle', totalNs: 80_000_000, count: 4, histogram: [0, 1] }], labelling), [
    {
      kind: 'throttle',
      cgroup: '/kubepods/c5',
      labels: { node: 'n1', service: 'svc-of-c5' },
      timeUnixMs: 1_700_000_010_000,
      intervalMs: 10_000,
      totalNs: 80_000_000,
      count: 4,
      histogram: [0, 1],
    },
  ]);
  const [stat] = cpuStatRecords(
    [{ cgroupId: 1n, periods: 100, throttledPeriods: 90, throttledNs: 9_000_000, quotaUs: -1, periodUs: 0 }],
    labelling,
  );
  assert.equal(stat?.cgroup, '/');
  assert.deepEqual(stat?.labels, { node: 'n1' });
  assert.equal(stat?.throttledNs, 9_000_000);
});

test('episodes carry their process labels, unix start and span id', () => {
  const episode = { kind: 'runqueue' as const, startNs: 5_000n, durationNs: 7_000_000, cgroupId: 5n, pid: 42, tid: 43, comm: 'w' };
  const [withSpan, without] = episodeRecords(
    [
      { ...episode, spanId: 0xabn },
      { ...episode, spanId: 0n },
    ],
    labelling,
  );
  assert.deepEqual(withSpan, {
    kind: 'runqueue',
    cgroup: '/kubepods/c5',
    labels: { node: 'n1', service: 'svc-42', pid: '42' },
    startUnixNano: '1700000000000005000',
    durationNs: 7_000_000,
    pid: 42,
    tid: 43,
    comm: 'w',
    spanId: '00000000000000ab',
  });
  assert.equal(without?.spanId, '');
});

test('a connection is labelled by its owner, or with the node only when the owner is unknown', () => {
  const connection = { family: 'ipv4' as const, localAddress: '10.0.0.1', localPort: 5001, remoteAddress: '10.0.0.2', remotePort: 80 };
  const counts = {
    cgroupId: 5n,
    tid: 8,
    comm: 'iperf',
    segments: 190,
    hits: 9,
    firstNs: 1n,
    lastNs: 2n,
    state: 'ESTABLISHED',
    synack: false,
  };
  const [owned, unknown] = retransmitRecords(
    [
      { connection, pid: 7, ...counts },
      { connection, ...counts, pid: 0, tid: 0, comm: '', cgroupId: 0n },
    ],
    labelling,
  );
  assert.deepEqual(owned, {
    timeUnixMs: 1_700_000_010_000,
    firstUnixNano: '1700000000000000001',
    lastUnixNano: '1700000000000000002',
    segments: 190,
    hits: 9,
    ...connection,
    state: 'ESTABLISHED',
    synack: false,
    pid: 7,
    tid: 8,
    comm: 'iperf',
    cgroup: '/kubepods/c5',
    labels: { node: 'n1', service: 'svc-7', pid: '7' },
  });
  assert.equal(unknown?.cgroup, '');
  assert.deepEqual(unknown?.labels, { node: 'n1' });
});

test('the batch is gzipped msgpack that a plain unpack reads back', () => {
  const batch = {
    waits: waitRecords([{ cgroupId: 5n, kind: 'runqueue', totalNs: 1, count: 1, histogram: [1] }], labelling),
    episodes: [],
    cpuStats: [],
    retransmits: [],
  };
  assert.equal(batchSize(batch), 1);
  assert.deepEqual(unpack(gunzipSync(new SignalBatchEncoder().encode(batch))), batch);
});
