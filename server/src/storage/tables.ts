// The profile tables: names, and the DDL that differs between one node and a cluster.
import { engineClause, onCluster, quoteIdentifier, type MergeTreeEngine, type SchemaContext } from './ddl.js';

/** Tables every query and insert goes through (in cluster mode these are the Distributed tables). */
export const T = {
  functions: 'kiln_functions',
  stacks: 'kiln_stacks',
  series: 'kiln_series',
  samples: 'kiln_samples',
  profiles: 'kiln_profiles',
  agents: 'kiln_agents',
  spans: 'kiln_spans',
  signals: 'kiln_signals',
} as const;

export type TableName = (typeof T)[keyof typeof T];

/** The table holding the rows: itself on one node, `<name>_local` behind a Distributed table on a cluster. */
export function storageTable(ctx: SchemaContext, name: string): string {
  return ctx.cluster === undefined ? name : `${name}_local`;
}

export interface TableSpec {
  name: TableName;
  columns: string;
  engine: MergeTreeEngine;
  engineArgs?: string[];
  /** Everything after the engine: PARTITION BY, ORDER BY, TTL, SETTINGS. */
  tail: string;
  /** Distributed sharding key (cluster mode). */
  shardingKey: string;
}

/** CREATE statements for one table: the MergeTree itself, plus the Distributed table over it on a cluster. */
export function createTable(ctx: SchemaContext, spec: TableSpec): string[] {
  const local = storageTable(ctx, spec.name);
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${local}${onCluster(ctx)} (${spec.columns}
    ) ${engineClause(ctx, spec.engine, spec.engineArgs === undefined ? {} : { args: spec.engineArgs })}
    ${spec.tail}`,
  ];
  if (ctx.cluster !== undefined) {
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${spec.name}${onCluster(ctx)} AS ${local}
      ENGINE = Distributed(${quoteString(ctx.cluster)}, currentDatabase(), ${quoteString(local)}, ${spec.shardingKey})`,
    );
  }
  return statements;
}

/** `TTL <expr> + toIntervalSecond(N)` for the configured retention. */
export function ttlClause(ctx: SchemaContext, timeExpr: string, extraSeconds = 0): string {
  return `TTL ${timeExpr} + toIntervalSecond(${retentionSeconds(ctx) + extraSeconds})`;
}

export function retentionSeconds(ctx: SchemaContext): number {
  return Math.max(1, Math.ceil(ctx.retentionMs / 1000));
}

/** A ClickHouse string literal (for identifiers we validated ourselves, never user data). */
export function quoteString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export { quoteIdentifier };

/** Tables with a TTL, and the TTL expression each uses (re-applied at start when --retention changes). */
export const ttlTables: readonly { name: TableName; timeExpr: string; extraSeconds: number }[] = [
  { name: T.samples, timeExpr: 'time', extraSeconds: 0 },
  { name: T.profiles, timeExpr: 'toDateTime(time)', extraSeconds: 0 },
  { name: T.series, timeExpr: 'hour', extraSeconds: 3600 },
  { name: T.agents, timeExpr: 'toDateTime(time)', extraSeconds: 0 },
  { name: T.spans, timeExpr: 'toDateTime(start_time)', extraSeconds: 0 },
  { name: T.signals, timeExpr: 'toDateTime(time)', extraSeconds: 0 },
  // Stacks and functions are shared by all times: they live a day longer than the newest sample using them.
  { name: T.stacks, timeExpr: 'seen_day', extraSeconds: 86_400 },
  { name: T.functions, timeExpr: 'seen_day', extraSeconds: 86_400 },
];

export function ttlFor(ctx: SchemaContext, name: TableName): string {
  const t = ttlTables.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no TTL for ${name}`);
  return ttlClause(ctx, t.timeExpr, t.extraSeconds);
}
