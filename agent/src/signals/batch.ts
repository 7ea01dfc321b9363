// Decoded kernel records → the records of an AgentSignalBatch (api/src/http/signals.ts), labelled
// as the profiles of the processes they concern are, and its bytes: msgpack, gzipped.
import { gzipSync } from 'node:zlib';
import type { AgentCgroupCpuStat, AgentCgroupWaits, AgentConnectionRetransmits, AgentSchedEpisode, AgentSignalBatch } from '@kiln/api/http';
import { Packr } from 'msgpackr';
import { spanIdHex } from '../spans/ids.js';
import type { CpuStatDelta } from './cpu-stat.js';
import type { CgroupWaits, ConnectionRetransmits, SchedEpisode } from './decode.js';

export interface SignalLabelling {
  /** End of the interval the records cover, and its length. */
  nowMs: number;
  intervalMs: number;
  /** Added to CLOCK_MONOTONIC nanoseconds to get unix nanoseconds. */
  monotonicToUnixNs: bigint;
  /** A cgroup id's path in the CPU controller's hierarchy. */
  cgroupPath: (id: bigint) => string;
  /** The labels of a cgroup's processes. */
  cgroupLabels: (id: bigint) => Record<string, string>;
  /** The labels of one process's profiles. */
  processLabels: (pid: number) => Record<string, string>;
  /** What is known of a socket whose owner is not: the node. */
  nodeLabels: Record<string, string>;
}

export function waitRecords(waits: CgroupWaits[], l: SignalLabelling): AgentCgroupWaits[] {
  return waits.map((w) => ({
    kind: w.kind,
    cgroup: l.cgroupPath(w.cgroupId),
    labels: l.cgroupLabels(w.cgroupId),
    timeUnixMs: l.nowMs,
    intervalMs: l.intervalMs,
    totalNs: w.totalNs,
    count: w.count,
    histogram: w.histogram,
  }));
}

export function episodeRecords(episodes: SchedEpisode[], l: SignalLabelling): AgentSchedEpisode[] {
  return episodes.map((e) => ({
    kind: e.kind,
    cgroup: l.cgroupPath(e.cgroupId),
    labels: l.processLabels(e.pid),
    startUnixNano: (e.startNs + l.monotonicToUnixNs).toString(),
    durationNs: e.durationNs,
    pid: e.pid,
    tid: e.tid,
    comm: e.comm,
    spanId: e.spanId === 0n ? '' : spanIdHex(e.spanId),
  }));
}

export function cpuStatRecords(deltas: CpuStatDelta[], l: SignalLabelling): AgentCgroupCpuStat[] {
  return deltas.map((d) => ({
    cgroup: l.cgroupPath(d.cgroupId),
    labels: l.cgroupLabels(d.cgroupId),
    timeUnixMs: l.nowMs,
    intervalMs: l.intervalMs,
    periods: d.periods,
    throttledPeriods: d.throttledPeriods,
    throttledNs: d.throttledNs,
    quotaUs: d.quotaUs,
    periodUs: d.periodUs,
  }));
}

export function retransmitRecords(connections: ConnectionRetransmits[], l: SignalLabelling): AgentConnectionRetransmits[] {
  return connections.map((c) => {
    const owned = c.pid !== 0;
    return {
      timeUnixMs: l.nowMs,
      firstUnixNano: (c.firstNs + l.monotonicToUnixNs).toString(),
      lastUnixNano: (c.lastNs + l.monotonicToUnixNs).toString(),
      segments: c.segments,
      hits: c.hits,
      ...c.connection,
      state: c.state,
      synack: c.synack,
      pid: c.pid,
      tid: c.tid,
      comm: c.comm,
      cgroup: owned ? l.cgroupPath(c.cgroupId) : '',
      labels: owned ? l.processLabels(c.pid) : l.nodeLabels,
    };
  });
}

export function batchSize(batch: AgentSignalBatch): number {
  return batch.waits.length + batch.episodes.length + batch.cpuStats.length + batch.retransmits.length;
}

export class SignalBatchEncoder {
  /** Records: each shape's keys once per batch; no shared structures, so the server's plain `unpack` reads it. */
  readonly #packr = new Packr({ useRecords: true });

  encode(batch: AgentSignalBatch): Buffer {
    return gzipSync(this.#packr.pack(batch));
  }
}
