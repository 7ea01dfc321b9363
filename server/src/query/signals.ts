// Kernel signals (kiln_signals): stored from the agent's batches, read back as a total, a series and
// a top list of one kind for a selection and range, and as the episodes or connections of a range.
import type { ClickHouseClient } from '@clickhouse/client';
import type { SignalConnection, SignalEpisode, SignalEpisodesResponse, SignalKind, SignalsResponse, SignalTopEntry } from '@kiln/api/http';
import type { SignalRow } from '../ingest/agent-signals.js';
import { T } from '../storage/tables.js';
import type { QueryEngine } from './engine.js';
import type { Selector } from './selector.js';
import { Params, seconds, seriesLabelConditions } from './sql.js';
import type { TimeRange } from './time.js';

/** Resolves once the rows are stored; every node sends a small batch per interval, so storage gathers them (async insert). */
export async function storeSignals(client: ClickHouseClient, rows: SignalRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({
    table: T.signals,
    format: 'JSONEachRow',
    values: rows,
    clickhouse_settings: { async_insert: 1, wait_for_async_insert: 1 },
  });
}

export interface SignalFilter {
  kind: SignalKind;
  /** Its matchers apply to `service` and the labels; its profile type means nothing here. */
  selector: Selector;
  range: TimeRange;
}

/**
 * The records whose durations (or segments) are the signal: a cgroup's waits per interval, every
 * wait and not only episodes, or a connection's retransmits per interval.
 */
const MEASURED: Record<SignalKind, { record: SignalRow['record']; value: string; unit: SignalsResponse['unit'] }> = {
  throttle: { record: 'waits', value: 'duration_ns', unit: 'nanoseconds' },
  runqueue: { record: 'waits', value: 'duration_ns', unit: 'nanoseconds' },
  retransmit: { record: 'connection', value: 'count', unit: 'segments' },
};

/** WHERE conditions on kiln_signals: one kind's records of one type, of the selection, in the range. */
export function signalConditions(f: SignalFilter, record: SignalRow['record'], p: Params): string {
  return [
    `kind = ${p.add('String', f.kind)}`,
    `record = ${p.add('String', record)}`,
    `time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(f.range.fromMs))}))`,
    `time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(f.range.untilMs))}))`,
    ...seriesLabelConditions(f.selector, p),
  ].join(' AND ');
}

export interface SignalBuckets {
  startS: number;
  stepS: number;
  buckets: number;
}

/**
 * The fewest whole seconds per point that give at most maxPoints points, the first point starting
 * on a multiple of the step, as /api/v1/series aligns its points (engine.series).
 */
export function signalBuckets(range: TimeRange, maxPoints: number): SignalBuckets {
  const s = seconds(range);
  for (let stepS = Math.max(1, Math.ceil((s.until - s.from) / maxPoints)); ; stepS++) {
    const startS = s.from - (s.from % stepS);
    const buckets = Math.ceil((s.until - startS) / stepS);
    if (buckets <= maxPoints) return { startS, stepS, buckets };
  }
}

/** GET /api/v1/signals: total, series, top list, and for throttling the kernel's own counters. */
export async function signalSummary(engine: QueryEngine, f: SignalFilter, maxPoints: number, top: number): Promise<SignalsResponse> {
  const measured = MEASURED[f.kind];
  const b = signalBuckets(f.range, maxPoints);
  const p = new Params();
  const rows = await engine.json<{ b: string; v: string }>(
    `SELECT intDiv(toUnixTimestamp64Milli(time) - ${p.add('Int64', b.startS * 1000)}, ${p.add('Int64', b.stepS * 1000)}) AS b,
       sum(${measured.value}) AS v
     FROM ${T.signals} WHERE ${signalConditions(f, measured.record, p)} GROUP BY b`,
    p,
  );
  const values = new Array<number>(b.buckets).fill(0);
  let total = 0;
  for (const r of rows) {
    values[Number(r.b)]! += Number(r.v);
    total += Number(r.v);
  }
  const [topList, kernel] = await Promise.all([
    f.kind === 'retransmit' ? connectionTop(engine, f, top) : waitTop(engine, f, top),
    f.kind === 'throttle' ? kernelThrottling(engine, f) : undefined,
  ]);
  return {
    kind: f.kind,
    unit: measured.unit,
    total,
    fromMs: b.startS * 1000,
    untilMs: (b.startS + b.buckets * b.stepS) * 1000,
    stepMs: b.stepS * 1000,
    values,
    top: topList,
    ...(kernel !== undefined && { kernel }),
  };
}

/** GET /api/v1/signals/episodes: waits at least the agent's threshold long, or connections by segments. */
export async function signalEpisodes(engine: QueryEngine, f: SignalFilter, limit: number): Promise<SignalEpisodesResponse> {
  if (f.kind === 'retransmit') return { kind: f.kind, episodes: [], connections: await connections(engine, f, limit) };
  return { kind: f.kind, episodes: await episodes(engine, f, limit), connections: [] };
}

async function waitTop(engine: QueryEngine, f: SignalFilter, limit: number): Promise<SignalTopEntry[]> {
  const p = new Params();
  const rows = await engine.json<{ service: string; cgroup: string; v: string }>(
    `SELECT service, cgroup, sum(duration_ns) AS v FROM ${T.signals} WHERE ${signalConditions(f, 'waits', p)}
     GROUP BY service, cgroup ORDER BY v DESC, service, cgroup LIMIT ${p.add('UInt32', limit)}`,
    p,
  );
  return rows.map((r) => ({
    name: r.service === '' ? r.cgroup : `${r.service} (${r.cgroup})`,
    value: Number(r.v),
    service: r.service,
    cgroup: r.cgroup,
  }));
}

async function connectionTop(engine: QueryEngine, f: SignalFilter, limit: number): Promise<SignalTopEntry[]> {
  return (await connections(engine, f, limit)).map((c) => ({
    name: `${endpoint(c.family, c.localAddress, c.localPort)} → ${endpoint(c.family, c.remoteAddress, c.remotePort)}`,
    value: c.segments,
    service: c.service,
    cgroup: c.cgroup,
    connection: {
      family: c.family,
      localAddress: c.localAddress,
      localPort: c.localPort,
      remoteAddress: c.remoteAddress,
      remotePort: c.remotePort,
      state: c.state,
      pid: c.pid,
      comm: c.comm,
    },
  }));
}

function endpoint(family: string, address: string, port: number): string {
  return family === 'ipv6' ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The connections of the range, one per tuple and owner over all its intervals, most segments first. */
async function connections(engine: QueryEngine, f: SignalFilter, limit: number): Promise<SignalConnection[]> {
  const p = new Params();
  const rows = await engine.json<ConnectionRow>(
    `SELECT family, local_addr, local_port, remote_addr, remote_port, pid, comm, service, cgroup,
       argMax(tcp_state, time) AS state, sum(count) AS segments,
       min(toUnixTimestamp64Nano(time)) / 1e6 AS first_ms,
       max(toUnixTimestamp64Nano(time) / 1e6 + duration_ns / 1e6) AS last_ms
     FROM ${T.signals} WHERE ${signalConditions(f, 'connection', p)}
     GROUP BY family, local_addr, local_port, remote_addr, remote_port, pid, comm, service, cgroup
     ORDER BY segments DESC, first_ms LIMIT ${p.add('UInt32', limit)}`,
    p,
  );
  return rows.map((r) => ({
    first: r.first_ms,
    last: r.last_ms,
    segments: Number(r.segments),
    family: r.family,
    localAddress: r.local_addr,
    localPort: r.local_port,
    remoteAddress: r.remote_addr,
    remotePort: r.remote_port,
    state: r.state,
    pid: r.pid,
    comm: r.comm,
    service: r.service,
    cgroup: r.cgroup,
  }));
}

// 64-bit integers arrive as strings in JSON.
interface ConnectionRow {
  family: string;
  local_addr: string;
  local_port: number;
  remote_addr: string;
  remote_port: number;
  pid: number;
  comm: string;
  service: string;
  cgroup: string;
  state: string;
  segments: string;
  first_ms: number;
  last_ms: number;
}

async function episodes(engine: QueryEngine, f: SignalFilter, limit: number): Promise<SignalEpisode[]> {
  const p = new Params();
  const rows = await engine.json<EpisodeRow>(
    `SELECT toUnixTimestamp64Nano(time) / 1e6 AS start_ms, duration_ns, service, cgroup, pid, tid, comm, span_id
     FROM ${T.signals} WHERE ${signalConditions(f, 'episode', p)}
     ORDER BY duration_ns DESC, time LIMIT ${p.add('UInt32', limit)}`,
    p,
  );
  const traces = await traceIdsOf(
    engine,
    rows.map((r) => r.span_id).filter((id) => id !== ''),
    f.range,
  );
  return rows.map((r) => ({
    start: r.start_ms,
    durationNs: Number(r.duration_ns),
    service: r.service,
    cgroup: r.cgroup,
    pid: r.pid,
    tid: r.tid,
    comm: r.comm,
    spanId: r.span_id,
    traceId: traces.get(r.span_id) ?? '',
  }));
}

/** The trace of each span id, for spans that started in the range or the hour around it (a span can outlast a wait by far). */
async function traceIdsOf(engine: QueryEngine, spanIds: string[], range: TimeRange): Promise<Map<string, string>> {
  if (spanIds.length === 0) return new Map();
  const p = new Params();
  const rows = await engine.json<{ span_id: string; trace_id: string }>(
    `SELECT span_id, any(trace_id) AS trace_id FROM ${T.spans}
     WHERE span_id IN ${p.add('Array(String)', [...new Set(spanIds)])}
       AND start_time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(range.fromMs) - 3_600_000)}))
       AND start_time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(range.untilMs) + 3_600_000)}))
     GROUP BY span_id`,
    p,
  );
  return new Map(rows.map((r) => [r.span_id, r.trace_id]));
}

interface EpisodeRow {
  start_ms: number;
  duration_ns: string;
  service: string;
  cgroup: string;
  pid: number;
  tid: number;
  comm: string;
  span_id: string;
}

/** The cpu.stat increases the agent read for the selection's cgroups over the range. */
async function kernelThrottling(engine: QueryEngine, f: SignalFilter): Promise<NonNullable<SignalsResponse['kernel']>> {
  const p = new Params();
  const [row] = await engine.json<{ ns: string; throttled: string; periods: string }>(
    `SELECT sum(duration_ns) AS ns, sum(count) AS throttled, sum(periods) AS periods
     FROM ${T.signals} WHERE ${signalConditions(f, 'cpu_stat', p)}`,
    p,
  );
  return { throttledNs: Number(row?.ns ?? 0), throttledPeriods: Number(row?.throttled ?? 0), periods: Number(row?.periods ?? 0) };
}
