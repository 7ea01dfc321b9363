// Agents' health reports (kiln_agents): one row stored per report, each node's latest one read back.
import type { ClickHouseClient } from '@clickhouse/client';
import type { AgentReport, AgentStatus } from '@kiln/api/http';
import { T } from '../storage/tables.js';
import { Params } from './sql.js';
import type { TimeRange } from './time.js';

/**
 * Resolves once the report is stored. Every agent reports every interval, one row each: a fleet
 * would be an insert per node per interval, each a part on disk, so storage gathers them into
 * fewer parts (async insert) and answers when the part holding this row is written.
 */
export async function storeAgentReport(client: ClickHouseClient, report: AgentReport, receivedMs: number): Promise<void> {
  await client.insert({
    table: T.agents,
    format: 'JSONEachRow',
    // Integers into DateTime64(3) are unix milliseconds.
    values: [
      {
        node: report.node,
        time: receivedMs,
        version: report.version,
        started_at: report.startedAt,
        interval_ms: report.intervalMs,
        samples: report.samples,
        samples_lost: report.samplesLost,
        processes_tracked: report.processesTracked,
        profiles_dropped: report.profilesDropped,
      },
    ],
    clickhouse_settings: { async_insert: 1, wait_for_async_insert: 1 },
  });
}

/** Each node's latest report in the range, sorted by node. */
export async function latestAgentReports(client: ClickHouseClient, range: TimeRange): Promise<AgentStatus[]> {
  const p = new Params();
  const latest = (column: string) => `argMax(${column}, time)`;
  const rs = await client.query({
    query: `SELECT node, toUnixTimestamp64Milli(max(time)) AS last_seen, ${latest('version')} AS version,
            toUnixTimestamp64Milli(${latest('started_at')}) AS started_at, ${latest('interval_ms')} AS interval_ms,
            ${latest('samples')} AS samples, ${latest('samples_lost')} AS samples_lost,
            ${latest('processes_tracked')} AS processes_tracked, ${latest('profiles_dropped')} AS profiles_dropped
     FROM ${T.agents}
     WHERE time >= fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.floor(range.fromMs))}))
       AND time < fromUnixTimestamp64Milli(toInt64(${p.add('Int64', Math.ceil(range.untilMs))}))
     GROUP BY node ORDER BY node`,
    query_params: p.values,
    format: 'JSONEachRow',
  });
  // 64-bit integers arrive as strings in JSON.
  const rows = await rs.json<{
    node: string;
    last_seen: string;
    version: string;
    started_at: string;
    interval_ms: number;
    samples: string;
    samples_lost: string;
    processes_tracked: number;
    profiles_dropped: string;
  }>();
  return rows.map((r) => ({
    node: r.node,
    version: r.version,
    lastSeen: Number(r.last_seen),
    startedAt: Number(r.started_at),
    intervalMs: r.interval_ms,
    samples: Number(r.samples),
    samplesLost: Number(r.samples_lost),
    processesTracked: r.processes_tracked,
    profilesDropped: Number(r.profiles_dropped),
  }));
}
