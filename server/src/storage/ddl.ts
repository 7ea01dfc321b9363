// Renders the parts of DDL that differ between one ClickHouse (or chDB) and a cluster.

export interface SchemaContext {
  /** Set when tables are created ON CLUSTER with Replicated engines. */
  cluster?: string;
  /** How long data is kept; tables with a TTL use it. */
  retentionMs: number;
}

export type MergeTreeEngine = 'MergeTree' | 'ReplacingMergeTree' | 'SummingMergeTree' | 'AggregatingMergeTree';

/**
 * 'shard': each shard holds its own part of the data, replicated among that shard's replicas.
 * 'everywhere': every node of the cluster holds the whole table (small metadata such as the
 * migrations log, which any server must read in full from whichever node it talks to).
 */
export type Replication = 'shard' | 'everywhere';

export function quoteIdentifier(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** ` ON CLUSTER name` in cluster mode, '' otherwise; goes right after the table name. */
export function onCluster(ctx: SchemaContext): string {
  return ctx.cluster === undefined ? '' : ` ON CLUSTER ${quoteIdentifier(ctx.cluster)}`;
}

/**
 * `ENGINE = X(args)`, or `ENGINE = ReplicatedX('<zookeeper path>', '{replica}', args)` in cluster mode.
 * {shard}, {replica}, {database} and {table} are ClickHouse macros expanded on each node.
 */
export function engineClause(
  ctx: SchemaContext,
  engine: MergeTreeEngine,
  opts: { args?: string[]; replication?: Replication } = {},
): string {
  const args = opts.args ?? [];
  if (ctx.cluster === undefined) return `ENGINE = ${engine}(${args.join(', ')})`;
  const zkPath =
    (opts.replication ?? 'shard') === 'shard'
      ? `'/clickhouse/tables/{shard}/{database}/{table}'`
      : `'/clickhouse/tables/all-shards/{database}/{table}'`;
  return `ENGINE = Replicated${engine}(${[zkPath, `'{replica}'`, ...args].join(', ')})`;
}
