// Kernel signals: CPU throttling and run-queue delay (the scheduler probe), TCP retransmits (the
// retransmit probe). The agent sends them as msgpack batches (POST /api/v1/ingest/signals); the UI
// reads totals, series, top lists and the episodes of a time bucket (GET /api/v1/signals…).
import { Type, type Static } from 'typebox';
import { Selector, Time } from './common.js';

export const SignalKind = Type.Union([Type.Literal('throttle'), Type.Literal('runqueue'), Type.Literal('retransmit')], {
  description:
    'throttle: time runnable tasks waited because their cgroup was throttled; runqueue: time they waited for a busy CPU; retransmit: TCP segments sent again',
});
export type SignalKind = Static<typeof SignalKind>;

const WaitKind = Type.Union([Type.Literal('throttle'), Type.Literal('runqueue')]);
const UnixNano = (description: string) => Type.String({ pattern: '^[0-9]{1,20}$', description });
const Labels = Type.Record(Type.String(), Type.String(), {
  description: 'the labels the profiles of the owning process carry: service, node, container_id, pod, namespace, …',
});
const Cgroup = Type.String({ description: 'the CPU controller cgroup, as a path in its hierarchy (/ is the root)' });

/** One cgroup's waits of one kind over one agent interval: every wait, not only episodes. */
export const AgentCgroupWaits = Type.Object({
  kind: WaitKind,
  cgroup: Cgroup,
  labels: Labels,
  timeUnixMs: Type.Number({ description: 'end of the interval' }),
  intervalMs: Type.Integer({ minimum: 1 }),
  totalNs: Type.Integer({ minimum: 0 }),
  count: Type.Integer({ minimum: 0 }),
  histogram: Type.Array(Type.Integer({ minimum: 0 }), {
    maxItems: 32,
    description: 'log2 buckets: [i] counts waits of [2^i, 2^(i+1)) µs (bpf/sched.h)',
  }),
});
export type AgentCgroupWaits = Static<typeof AgentCgroupWaits>;

/** One wait at least as long as the agent's threshold (--throttle-threshold, default 5 ms). */
export const AgentSchedEpisode = Type.Object({
  kind: WaitKind,
  cgroup: Cgroup,
  labels: Labels,
  startUnixNano: UnixNano('when the task became runnable and was not let run'),
  durationNs: Type.Integer({ minimum: 0 }),
  pid: Type.Integer({ minimum: 0 }),
  tid: Type.Integer({ minimum: 0 }),
  comm: Type.String(),
  spanId: Type.String({ description: 'the span its thread was serving (16 hex digits), empty if none' }),
});
export type AgentSchedEpisode = Static<typeof AgentSchedEpisode>;

/** The kernel's own throttling counters of a cgroup over one interval (cpu.stat deltas): the cross-check. */
export const AgentCgroupCpuStat = Type.Object({
  cgroup: Cgroup,
  labels: Labels,
  timeUnixMs: Type.Number({ description: 'end of the interval' }),
  intervalMs: Type.Integer({ minimum: 1 }),
  periods: Type.Integer({ minimum: 0, description: 'nr_periods increase' }),
  throttledPeriods: Type.Integer({ minimum: 0, description: 'nr_throttled increase' }),
  throttledNs: Type.Integer({ minimum: 0, description: 'throttled_time (v1) or throttled_usec (v2) increase, in ns' }),
  quotaUs: Type.Integer({ description: 'CPU quota per period in µs, -1 for none' }),
  periodUs: Type.Integer({ minimum: 0 }),
});
export type AgentCgroupCpuStat = Static<typeof AgentCgroupCpuStat>;

/** One connection's retransmits over one agent interval, counted in the kernel. */
export const AgentConnectionRetransmits = Type.Object({
  timeUnixMs: Type.Number({ description: 'end of the interval' }),
  firstUnixNano: UnixNano('the first retransmit in the interval'),
  lastUnixNano: UnixNano('the last one'),
  segments: Type.Integer({ minimum: 0, description: 'retransmitted segments, as TcpRetransSegs counts them' }),
  hits: Type.Integer({ minimum: 0, description: 'retransmitted skbs and SYN-ACKs' }),
  family: Type.Union([Type.Literal('ipv4'), Type.Literal('ipv6')]),
  localAddress: Type.String(),
  localPort: Type.Integer({ minimum: 0, maximum: 65535 }),
  remoteAddress: Type.String(),
  remotePort: Type.Integer({ minimum: 0, maximum: 65535 }),
  state: Type.String({ description: 'TCP state at the last retransmit: ESTABLISHED, SYN_RECV, FIN_WAIT1, …' }),
  synack: Type.Boolean(),
  pid: Type.Integer({ minimum: 0, description: 'the socket owner; 0 if unknown' }),
  tid: Type.Integer({ minimum: 0 }),
  comm: Type.String(),
  cgroup: Cgroup,
  labels: Labels,
});
export type AgentConnectionRetransmits = Static<typeof AgentConnectionRetransmits>;

/** The msgpack body of POST /api/v1/ingest/signals (Content-Type application/msgpack, gzip allowed). */
export const AgentSignalBatch = Type.Object({
  waits: Type.Array(AgentCgroupWaits),
  episodes: Type.Array(AgentSchedEpisode),
  cpuStats: Type.Array(AgentCgroupCpuStat),
  retransmits: Type.Array(AgentConnectionRetransmits),
});
export type AgentSignalBatch = Static<typeof AgentSignalBatch>;

export const AgentSignalBatchResponse = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'records stored' }),
  rejected: Type.Integer({ minimum: 0, description: 'records not stored: invalid values' }),
  rejectReason: Type.Optional(Type.String({ description: 'why, for the first rejected record' })),
});
export type AgentSignalBatchResponse = Static<typeof AgentSignalBatchResponse>;

const SignalSelection = {
  kind: SignalKind,
  query: Selector('selector on the labels the signals carry, e.g. {service="checkout"}; {} selects everything'),
  from: Time(),
  until: Time(),
};

export const SignalsQuery = Type.Object({
  ...SignalSelection,
  maxPoints: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'series points at most (default 120)' })),
  top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'entries of the top list (default 10)' })),
});
export type SignalsQuery = Static<typeof SignalsQuery>;

/** A connection as the local end sees it, and the process that owns its socket (pid 0: unknown). */
const ConnectionFields = {
  family: Type.String(),
  localAddress: Type.String(),
  localPort: Type.Integer(),
  remoteAddress: Type.String(),
  remotePort: Type.Integer(),
  state: Type.String(),
  pid: Type.Integer(),
  comm: Type.String(),
};

export const SignalTopEntry = Type.Object({
  /** What the entry is, as shown: a service, a cgroup, or `10.0.0.1:43210 → 10.0.0.2:80`. */
  name: Type.String(),
  value: Type.Number({ description: 'in the response unit' }),
  service: Type.String(),
  cgroup: Type.String(),
  /** Retransmits only: the connection and its owner. */
  connection: Type.Optional(Type.Object(ConnectionFields)),
});
export type SignalTopEntry = Static<typeof SignalTopEntry>;

export const SignalsResponse = Type.Object({
  kind: SignalKind,
  unit: Type.Union([Type.Literal('nanoseconds'), Type.Literal('segments')]),
  /** Throttled (or run-queue) nanoseconds, or retransmitted segments, for the whole selection and range. */
  total: Type.Number(),
  fromMs: Type.Number(),
  untilMs: Type.Number(),
  stepMs: Type.Number(),
  /** values[i] covers [fromMs + i·stepMs, fromMs + (i+1)·stepMs). */
  values: Type.Array(Type.Number()),
  /** Throttle and run queue: services or cgroups by time; retransmit: connections by segments. Largest first. */
  top: Type.Array(SignalTopEntry),
  /** Throttle only: the kernel's own cpu.stat counters over the same selection and range (the cross-check). */
  kernel: Type.Optional(Type.Object({ throttledNs: Type.Number(), throttledPeriods: Type.Number(), periods: Type.Number() })),
});
export type SignalsResponse = Static<typeof SignalsResponse>;

export const SignalEpisodesQuery = Type.Object({
  ...SignalSelection,
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 10_000, description: 'at most this many (default 100), longest or largest first' }),
  ),
});
export type SignalEpisodesQuery = Static<typeof SignalEpisodesQuery>;

export const SignalEpisode = Type.Object({
  start: Type.Number({ description: 'unix ms, with microseconds as the fraction' }),
  durationNs: Type.Integer({ minimum: 0 }),
  service: Type.String(),
  cgroup: Type.String(),
  pid: Type.Integer(),
  tid: Type.Integer(),
  comm: Type.String(),
  spanId: Type.String({ description: 'the span its thread served, empty if none' }),
  traceId: Type.String({ description: "that span's trace, empty when there is no span or it is not stored (yet)" }),
});
export type SignalEpisode = Static<typeof SignalEpisode>;

export const SignalConnection = Type.Object({
  first: Type.Number({ description: 'unix ms of its first retransmit in the range' }),
  last: Type.Number(),
  segments: Type.Integer({ minimum: 0 }),
  ...ConnectionFields,
  service: Type.String(),
  cgroup: Type.String(),
});
export type SignalConnection = Static<typeof SignalConnection>;

/** What happened in one bucket (or any range): throttle and run queue list episodes, retransmit lists connections. */
export const SignalEpisodesResponse = Type.Object({
  kind: SignalKind,
  episodes: Type.Array(SignalEpisode),
  connections: Type.Array(SignalConnection),
});
export type SignalEpisodesResponse = Static<typeof SignalEpisodesResponse>;

/**
 * A span's latency broken down by what its thread did (server spans the agent captured): the parts
 * add up to its duration. onCpuNs is the duration minus the three off-CPU parts the scheduler
 * probe measured for the thread while it carried the span.
 */
export const SpanBreakdown = Type.Object({
  onCpuNs: Type.Integer({ minimum: 0 }),
  runQueueNs: Type.Integer({ minimum: 0 }),
  throttledNs: Type.Integer({ minimum: 0 }),
  offCpuNs: Type.Integer({ minimum: 0, description: 'sleeping: I/O, locks, timers' }),
  retransmits: Type.Integer({ minimum: 0, description: 'segments retransmitted on its connection while it was open' }),
});
export type SpanBreakdown = Static<typeof SpanBreakdown>;
