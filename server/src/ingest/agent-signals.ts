// The agent's kernel-signal batches (POST /api/v1/ingest/signals): msgpack AgentSignalBatch → rows
// of kiln_signals, one per record. Each record is checked on its own, so one bad record costs only
// itself.
import type { AgentCgroupCpuStat, AgentCgroupWaits, AgentConnectionRetransmits, AgentSchedEpisode } from '@kiln/api/http';
import { collectRows, hexId, isInteger, stringRecord, unixMsTime, unixNanoTime, unpackBatch, type DecodedRecords } from './agent-batch.js';

/** One row of kiln_signals; columns a record does not use hold their defaults (docs/storage.md). */
export interface SignalRow {
  kind: 'throttle' | 'runqueue' | 'retransmit';
  /** waits: one cgroup over one interval; episode: one long wait; cpu_stat: the kernel's counters; connection: one connection over one interval. */
  record: 'waits' | 'episode' | 'cpu_stat' | 'connection';
  service: string;
  /** DateTime64(9) as `seconds.nanoseconds`: the interval's end (waits, cpu_stat) or the first instant (episode, connection). */
  time: string;
  interval_ms: number;
  /** waits: their sum; episode: its length; cpu_stat: throttled time; connection: first to last retransmit. */
  duration_ns: number;
  /** waits: how many; cpu_stat: throttled periods; connection: retransmitted segments. */
  count: number;
  labels: Record<string, string>;
  cgroup: string;
  pid: number;
  tid: number;
  comm: string;
  span_id: string;
  histogram: number[];
  family: string;
  local_addr: string;
  local_port: number;
  remote_addr: string;
  remote_port: number;
  tcp_state: string;
  synack: boolean;
  hits: number;
  periods: number;
  quota_us: number;
  period_us: number;
}

export type DecodedAgentSignals = DecodedRecords<SignalRow>;

const WAIT_KINDS = new Set(['throttle', 'runqueue']);
const FAMILIES = new Set(['ipv4', 'ipv6']);
const MAX_U32 = 0xffff_ffff;
/** bpf/sched.h: log2 buckets of µs, 32 of them. */
const HISTOGRAM_BUCKETS = 32;

/** Decodes a whole batch; a body that is not one is a 400, an invalid record is counted as rejected. */
export function decodeAgentSignals(body: Buffer): DecodedAgentSignals {
  const batch = unpackBatch(body, ['waits', 'episodes', 'cpuStats', 'retransmits'], 'a signal batch');
  const out: DecodedAgentSignals = { rows: [], rejected: 0, rejectReason: '' };
  collectRows(out, batch.waits, 'waits', waitsRow);
  collectRows(out, batch.episodes, 'episodes', episodeRow);
  collectRows(out, batch.cpuStats, 'cpuStats', cpuStatRow);
  collectRows(out, batch.retransmits, 'retransmits', connectionRow);
  return out;
}

/** Fields every record has: who (cgroup and labels) and a row with every other column at its default. */
function baseRow(r: { cgroup?: unknown; labels?: unknown }): SignalRow | string {
  if (typeof r.cgroup !== 'string') return 'cgroup is not a string';
  const labels = stringRecord(r.labels);
  if (labels === undefined) return 'labels is not a map of strings';
  return {
    kind: 'throttle',
    record: 'waits',
    service: labels.service ?? '',
    time: '0',
    interval_ms: 0,
    duration_ns: 0,
    count: 0,
    labels,
    cgroup: r.cgroup,
    pid: 0,
    tid: 0,
    comm: '',
    span_id: '',
    histogram: [],
    family: '',
    local_addr: '',
    local_port: 0,
    remote_addr: '',
    remote_port: 0,
    tcp_state: '',
    synack: false,
    hits: 0,
    periods: 0,
    quota_us: 0,
    period_us: 0,
  };
}

function asRecord<T>(v: unknown): Partial<Record<keyof T, unknown>> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function waitsRow(v: unknown): SignalRow | string {
  const r = asRecord<AgentCgroupWaits>(v);
  if (r === undefined) return 'not a map';
  const row = baseRow(r);
  if (typeof row === 'string') return row;
  if (typeof r.kind !== 'string' || !WAIT_KINDS.has(r.kind)) return 'kind is not throttle or runqueue';
  const time = unixMsTime(r.timeUnixMs, 'timeUnixMs');
  if (typeof time === 'string') return time;
  if (!isInteger(r.intervalMs, 1, MAX_U32)) return 'intervalMs is not a positive integer';
  if (!isInteger(r.totalNs)) return 'totalNs is not a non-negative integer';
  if (!isInteger(r.count)) return 'count is not a non-negative integer';
  if (!Array.isArray(r.histogram) || r.histogram.length > HISTOGRAM_BUCKETS || !r.histogram.every((x) => isInteger(x))) {
    return `histogram is not an array of at most ${HISTOGRAM_BUCKETS} non-negative integers`;
  }
  return {
    ...row,
    kind: r.kind as SignalRow['kind'],
    time: time.time,
    interval_ms: r.intervalMs,
    duration_ns: r.totalNs,
    count: r.count,
    histogram: r.histogram,
  };
}

function episodeRow(v: unknown): SignalRow | string {
  const r = asRecord<AgentSchedEpisode>(v);
  if (r === undefined) return 'not a map';
  const row = baseRow(r);
  if (typeof row === 'string') return row;
  if (typeof r.kind !== 'string' || !WAIT_KINDS.has(r.kind)) return 'kind is not throttle or runqueue';
  const start = unixNanoTime(r.startUnixNano, 'startUnixNano');
  if (typeof start === 'string') return start;
  if (!isInteger(r.durationNs)) return 'durationNs is not a non-negative integer';
  const owner = taskOf(r);
  if (typeof owner === 'string') return owner;
  const spanId = r.spanId === '' ? '' : hexId(r.spanId, 16);
  if (spanId === undefined) return 'spanId is neither empty nor 16 hex digits';
  return {
    ...row,
    ...owner,
    kind: r.kind as SignalRow['kind'],
    record: 'episode',
    time: start.time,
    duration_ns: r.durationNs,
    span_id: spanId,
  };
}

function cpuStatRow(v: unknown): SignalRow | string {
  const r = asRecord<AgentCgroupCpuStat>(v);
  if (r === undefined) return 'not a map';
  const row = baseRow(r);
  if (typeof row === 'string') return row;
  const time = unixMsTime(r.timeUnixMs, 'timeUnixMs');
  if (typeof time === 'string') return time;
  if (!isInteger(r.intervalMs, 1, MAX_U32)) return 'intervalMs is not a positive integer';
  if (!isInteger(r.periods)) return 'periods is not a non-negative integer';
  if (!isInteger(r.throttledPeriods)) return 'throttledPeriods is not a non-negative integer';
  if (!isInteger(r.throttledNs)) return 'throttledNs is not a non-negative integer';
  if (!isInteger(r.quotaUs, -1)) return 'quotaUs is neither -1 nor a non-negative integer';
  if (!isInteger(r.periodUs, 0, MAX_U32)) return 'periodUs is not a non-negative integer';
  return {
    ...row,
    kind: 'throttle',
    record: 'cpu_stat',
    time: time.time,
    interval_ms: r.intervalMs,
    duration_ns: r.throttledNs,
    count: r.throttledPeriods,
    periods: r.periods,
    quota_us: r.quotaUs,
    period_us: r.periodUs,
  };
}

function connectionRow(v: unknown): SignalRow | string {
  const r = asRecord<AgentConnectionRetransmits>(v);
  if (r === undefined) return 'not a map';
  const row = baseRow(r);
  if (typeof row === 'string') return row;
  // timeUnixMs (the interval's end) is checked but not stored: first and last say when.
  const end = unixMsTime(r.timeUnixMs, 'timeUnixMs');
  if (typeof end === 'string') return end;
  const first = unixNanoTime(r.firstUnixNano, 'firstUnixNano');
  if (typeof first === 'string') return first;
  const last = unixNanoTime(r.lastUnixNano, 'lastUnixNano');
  if (typeof last === 'string') return last;
  if (last.ns < first.ns) return 'lastUnixNano is before firstUnixNano';
  if (!isInteger(r.segments)) return 'segments is not a non-negative integer';
  if (!isInteger(r.hits)) return 'hits is not a non-negative integer';
  if (typeof r.family !== 'string' || !FAMILIES.has(r.family)) return 'family is not ipv4 or ipv6';
  if (typeof r.localAddress !== 'string' || typeof r.remoteAddress !== 'string') return 'localAddress or remoteAddress is not a string';
  if (!isInteger(r.localPort, 0, 65535) || !isInteger(r.remotePort, 0, 65535)) return 'localPort or remotePort is not a port number';
  if (typeof r.state !== 'string') return 'state is not a string';
  if (typeof r.synack !== 'boolean') return 'synack is not a boolean';
  const owner = taskOf(r);
  if (typeof owner === 'string') return owner;
  return {
    ...row,
    ...owner,
    kind: 'retransmit',
    record: 'connection',
    time: first.time,
    duration_ns: Number(last.ns - first.ns),
    count: r.segments,
    hits: r.hits,
    family: r.family,
    local_addr: r.localAddress,
    local_port: r.localPort,
    remote_addr: r.remoteAddress,
    remote_port: r.remotePort,
    tcp_state: r.state,
    synack: r.synack,
  };
}

/** The task a record names: pid, tid, comm. */
function taskOf(r: { pid?: unknown; tid?: unknown; comm?: unknown }): Pick<SignalRow, 'pid' | 'tid' | 'comm'> | string {
  if (!isInteger(r.pid, 0, MAX_U32)) return 'pid is not a 32-bit unsigned integer';
  if (!isInteger(r.tid, 0, MAX_U32)) return 'tid is not a 32-bit unsigned integer';
  if (typeof r.comm !== 'string') return 'comm is not a string';
  return { pid: r.pid, tid: r.tid, comm: r.comm };
}
