import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger } from 'fastify';
import { onCluster, type SchemaContext } from './ddl.js';
import { retentionSeconds, storageTable, ttlClause, ttlTables } from './tables.js';

/**
 * Migrations bake the retention of the first start into each table's TTL; when `--retention`
 * changes later, this rewrites the TTL (without rewriting existing parts: merges apply it).
 */
export async function applyRetention(client: ClickHouseClient, ctx: SchemaContext, log: FastifyBaseLogger): Promise<void> {
  for (const t of ttlTables) {
    const table = storageTable(ctx, t.name);
    const rs = await client.query({
      query: 'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
      query_params: { table },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ engine_full: string }>();
    if (row === undefined) continue;
    const wanted = `toIntervalSecond(${retentionSeconds(ctx) + t.extraSeconds})`;
    if (row.engine_full.includes(wanted)) continue;
    await client.command({
      query: `ALTER TABLE ${table}${onCluster(ctx)} MODIFY ${ttlClause(ctx, t.timeExpr, t.extraSeconds)}`,
      clickhouse_settings: { materialize_ttl_after_modify: 0 },
    });
    log.info({ table, retentionSeconds: retentionSeconds(ctx) }, 'retention changed: table TTL updated');
  }
}
