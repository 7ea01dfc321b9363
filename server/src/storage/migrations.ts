import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { engineClause, onCluster, type SchemaContext } from './ddl.js';
import { createTable, storageTable, T, ttlFor } from './tables.js';

export const MIGRATIONS_TABLE = 'kiln_schema_migrations';

export interface Migration {
  /** 1, 2, 3, … in order; never renumber or edit one that has shipped, add a new one. */
  version: number;
  name: string;
  /** A function because DDL differs between a single server and a cluster. Each statement must be idempotent. */
  statements: (ctx: SchemaContext) => string[];
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'create schema migrations log',
    statements: (ctx) => [
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE}${onCluster(ctx)} (
        version UInt32,
        name String,
        applied_at DateTime64(3)
      ) ${engineClause(ctx, 'ReplacingMergeTree', { replication: 'everywhere' })}
      ORDER BY version`,
    ],
  },
  {
    version: 2,
    name: 'profile tables: functions, stacks, series, samples, profiles',
    // Why this shape: docs/storage.md.
    statements: (ctx) => [
      ...createTable(ctx, {
        name: T.functions,
        columns: `
        function_id UInt64,
        name String CODEC(ZSTD(1)),
        system_name String CODEC(ZSTD(1)),
        filename String CODEC(ZSTD(1)),
        seen_day Date`,
        engine: 'ReplacingMergeTree',
        engineArgs: ['seen_day'],
        tail: `ORDER BY function_id ${ttlFor(ctx, T.functions)}`,
        shardingKey: 'function_id',
      }),
      ...createTable(ctx, {
        name: T.stacks,
        columns: `
        stack_hash UInt64,
        frames Array(UInt64) CODEC(ZSTD(1)),
        seen_day Date`,
        engine: 'ReplacingMergeTree',
        engineArgs: ['seen_day'],
        tail: `ORDER BY stack_hash ${ttlFor(ctx, T.stacks)}`,
        shardingKey: 'stack_hash',
      }),
      ...createTable(ctx, {
        name: T.series,
        columns: `
        profile_type LowCardinality(String),
        unit LowCardinality(String),
        service LowCardinality(String),
        series_fp UInt64,
        hour DateTime,
        labels Map(LowCardinality(String), String)`,
        engine: 'ReplacingMergeTree',
        tail: `PARTITION BY toYYYYMM(hour) ORDER BY (profile_type, service, series_fp, hour) ${ttlFor(ctx, T.series)}`,
        shardingKey: 'series_fp',
      }),
      ...createTable(ctx, {
        name: T.samples,
        columns: `
        profile_type LowCardinality(String),
        service LowCardinality(String),
        series_fp UInt64 CODEC(LZ4),
        time DateTime CODEC(Delta(4), LZ4),
        stack_hash UInt64 CODEC(LZ4),
        value Int64 CODEC(T64, LZ4),
        span_id UInt64 CODEC(ZSTD(1)),
        trace_id UInt128 CODEC(ZSTD(1))`,
        engine: 'MergeTree',
        tail: `PARTITION BY toDate(time)
        ORDER BY (profile_type, service, series_fp, toStartOfHour(time), stack_hash, time)
        ${ttlFor(ctx, T.samples)}`,
        shardingKey: 'series_fp',
      }),
      ...createTable(ctx, {
        name: T.profiles,
        columns: `
        id UUID,
        time DateTime64(3),
        until DateTime64(3),
        service LowCardinality(String),
        labels Map(LowCardinality(String), String),
        profile_types Array(LowCardinality(String)),
        series_fps Array(UInt64),
        format LowCardinality(String),
        spy_name LowCardinality(String),
        sample_rate UInt32,
        samples UInt32,
        size UInt32,
        payload_b64 String EPHEMERAL,
        payload String DEFAULT base64Decode(payload_b64) CODEC(ZSTD(3)),
        INDEX id_bloom id TYPE bloom_filter GRANULARITY 1`,
        engine: 'MergeTree',
        tail: `PARTITION BY toDate(time) ORDER BY (service, time) ${ttlFor(ctx, T.profiles)}`,
        shardingKey: 'cityHash64(id)',
      }),
    ],
  },
  {
    version: 3,
    name: 'functions: start line and binary, for the flame graph tooltip',
    // The Distributed table does not follow its local table's columns: both are altered.
    statements: (ctx) =>
      [...new Set([storageTable(ctx, T.functions), T.functions])].map(
        (table) => `ALTER TABLE ${table}${onCluster(ctx)}
        ADD COLUMN IF NOT EXISTS start_line UInt32 DEFAULT 0 AFTER filename,
        ADD COLUMN IF NOT EXISTS binary String DEFAULT '' CODEC(ZSTD(1)) AFTER start_line`,
      ),
  },
  {
    version: 4,
    name: 'profiles: raw uploads stored with LZ4, not ZSTD(3)',
    // Uploads are mostly gzipped already: ZSTD(3) saved ~7% of their bytes and cost ingest CPU on
    // every insert and merge (docs/storage.md). Codec only: merges recompress old parts.
    statements: (ctx) =>
      [...new Set([storageTable(ctx, T.profiles), T.profiles])].map(
        (table) => `ALTER TABLE ${table}${onCluster(ctx)} MODIFY COLUMN IF EXISTS payload CODEC(LZ4)`,
      ),
  },
  {
    version: 5,
    name: 'profiles: raw uploads inserted as bytes, no base64 column',
    // Ingest writes `payload` itself in TabSeparated (bytes escaped, not base64 in JSON). The default
    // becomes a constant first (REMOVE DEFAULT is not idempotent): it referred to payload_b64.
    statements: (ctx) =>
      [...new Set([storageTable(ctx, T.profiles), T.profiles])].flatMap((table) => [
        `ALTER TABLE ${table}${onCluster(ctx)} MODIFY COLUMN IF EXISTS payload String DEFAULT '' CODEC(LZ4)`,
        `ALTER TABLE ${table}${onCluster(ctx)} DROP COLUMN IF EXISTS payload_b64`,
      ]),
  },
  {
    version: 6,
    name: 'agents: health reports (last seen, samples lost, processes tracked, profiles dropped)',
    // One row per report: the agent's counters run from its start, so the latest row of a node is
    // its state and nothing needs to be summed (docs/storage.md).
    statements: (ctx) =>
      createTable(ctx, {
        name: T.agents,
        columns: `
        node LowCardinality(String),
        time DateTime64(3),
        version LowCardinality(String),
        started_at DateTime64(3),
        interval_ms UInt32,
        samples UInt64,
        samples_lost UInt64,
        processes_tracked UInt32,
        profiles_dropped UInt64`,
        engine: 'MergeTree',
        tail: `PARTITION BY toDate(time) ORDER BY (node, time) ${ttlFor(ctx, T.agents)}`,
        shardingKey: 'cityHash64(node)',
      }),
  },
  {
    version: 7,
    name: 'spans: OpenTelemetry spans from SDKs (OTLP) and, later, from the agent',
    // Sorted for "the slowest spans of a service in a time range"; a trace or span is found by its
    // bloom filters. Ids are hex strings, as OTLP/JSON and traceparent write them (docs/storage.md).
    statements: (ctx) =>
      createTable(ctx, {
        name: T.spans,
        columns: `
        service LowCardinality(String),
        start_time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        duration_ns UInt64 CODEC(T64, ZSTD(1)),
        trace_id String CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        parent_span_id String CODEC(ZSTD(1)),
        name LowCardinality(String),
        kind LowCardinality(String),
        status_code LowCardinality(String),
        status_message String CODEC(ZSTD(1)),
        source LowCardinality(String),
        resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        span_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        INDEX trace_id_bloom trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX span_id_bloom span_id TYPE bloom_filter(0.001) GRANULARITY 1`,
        engine: 'MergeTree',
        tail: `PARTITION BY toDate(start_time) ORDER BY (service, start_time) ${ttlFor(ctx, T.spans)}`,
        // A trace's spans live on one shard, together.
        shardingKey: 'cityHash64(trace_id)',
      }),
  },
  {
    version: 8,
    name: 'signals: kernel signals (throttling, run-queue delay, TCP retransmits) from the agent',
    // One table for every record of every signal, sorted for "a kind's records of a service in a
    // time range"; columns a record does not use hold their defaults (docs/storage.md).
    statements: (ctx) =>
      createTable(ctx, {
        name: T.signals,
        columns: `
        kind LowCardinality(String),
        record LowCardinality(String),
        service LowCardinality(String),
        time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        interval_ms UInt32 CODEC(T64, ZSTD(1)),
        duration_ns UInt64 CODEC(T64, ZSTD(1)),
        count UInt64 CODEC(T64, ZSTD(1)),
        labels Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        cgroup String CODEC(ZSTD(1)),
        pid UInt32 CODEC(ZSTD(1)),
        tid UInt32 CODEC(ZSTD(1)),
        comm LowCardinality(String),
        span_id String CODEC(ZSTD(1)),
        histogram Array(UInt64) CODEC(ZSTD(1)),
        family LowCardinality(String),
        local_addr String CODEC(ZSTD(1)),
        local_port UInt16 CODEC(ZSTD(1)),
        remote_addr String CODEC(ZSTD(1)),
        remote_port UInt16 CODEC(ZSTD(1)),
        tcp_state LowCardinality(String),
        synack Bool,
        hits UInt64 CODEC(T64, ZSTD(1)),
        periods UInt64 CODEC(T64, ZSTD(1)),
        quota_us Int64 CODEC(ZSTD(1)),
        period_us UInt32 CODEC(ZSTD(1))`,
        engine: 'MergeTree',
        tail: `PARTITION BY toDate(time) ORDER BY (kind, record, service, time) ${ttlFor(ctx, T.signals)}`,
        // A cgroup's records on one shard: its top-list entry is summed there.
        shardingKey: 'cityHash64(cgroup)',
      }),
  },
];

checkOrder(migrations);

/** Every statement of every migration, in order: what `kiln server --print-schema` shows a DBA. */
export function schemaStatements(ctx: SchemaContext): string[] {
  return migrations.flatMap((m) => m.statements(ctx).map((q) => q.replace(/\n\s+/g, '\n  ').trim()));
}

export const latestSchemaVersion: number = migrations.at(-1)?.version ?? 0;

/** The highest applied migration, 0 on an empty database. */
export async function readSchemaVersion(client: ClickHouseClient, abortSignal?: AbortSignal): Promise<number> {
  const versions = await appliedVersions(client, abortSignal);
  return versions.length === 0 ? 0 : Math.max(...versions);
}

/** Applies, in order, the migrations not yet recorded; running it again does nothing. */
export async function runMigrations(client: ClickHouseClient, ctx: SchemaContext, log: FastifyBaseLogger): Promise<Migration[]> {
  let applied: Set<number>;
  try {
    applied = new Set(await appliedVersions(client));
  } catch (err) {
    throw new Error(`cannot read the schema migrations log ${MIGRATIONS_TABLE}: ${(err as Error).message}`, { cause: err });
  }
  const pending = migrations.filter((m) => !applied.has(m.version));
  for (const migration of pending) {
    try {
      for (const query of migration.statements(ctx)) {
        await client.command({ query });
      }
      await client.command({
        query: `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) SELECT {version:UInt32}, {name:String}, now64(3)`,
        query_params: { version: migration.version, name: migration.name },
      });
    } catch (err) {
      throw new Error(`schema migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    log.info({ version: migration.version, name: migration.name }, 'applied schema migration');
  }
  return pending;
}

async function appliedVersions(client: ClickHouseClient, abortSignal?: AbortSignal): Promise<number[]> {
  // Before migration 1 the log itself does not exist yet.
  const exists = await client.query({
    query: `EXISTS TABLE ${MIGRATIONS_TABLE}`,
    format: 'JSONEachRow',
    ...(abortSignal && { abort_signal: abortSignal }),
  });
  const [row] = await exists.json<{ result: number }>();
  if (row?.result !== 1) return [];
  const rows = await client.query({
    query: `SELECT DISTINCT version FROM ${MIGRATIONS_TABLE} ORDER BY version`,
    format: 'JSONEachRow',
    ...(abortSignal && { abort_signal: abortSignal }),
  });
  return (await rows.json<{ version: number }>()).map((r) => r.version);
}

function checkOrder(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}
