import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { engineClause, onCluster, type SchemaContext } from './ddl.js';

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
];

checkOrder(migrations);

export const latestSchemaVersion: number = migrations.at(-1)?.version ?? 0;

/** The highest applied migration, 0 on an empty database. */
export async function readSchemaVersion(client: ClickHouseClient, abortSignal?: AbortSignal): Promise<number> {
  const versions = await appliedVersions(client, abortSignal);
  return versions.length === 0 ? 0 : Math.max(...versions);
}

/** Applies, in order, the migrations not yet recorded; running it again does nothing. */
export async function runMigrations(
  client: ClickHouseClient,
  ctx: SchemaContext,
  log: FastifyBaseLogger,
): Promise<Migration[]> {
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
