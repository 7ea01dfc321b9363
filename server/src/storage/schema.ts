import fp from 'fastify-plugin';
import type { SchemaContext } from './ddl.js';
import { latestSchemaVersion, runMigrations } from './migrations.js';
import { applyRetention } from './retention.js';

/** Brings the schema up to the latest migration before the server takes requests. */
export const schemaPlugin = fp<SchemaContext>(
  async (app, ctx) => {
    const applied = await runMigrations(app.clickhouse, ctx, app.log);
    await applyRetention(app.clickhouse, ctx, app.log);
    app.log.info({ schemaVersion: latestSchemaVersion, applied: applied.length }, 'schema ready');
  },
  { name: 'schema', dependencies: ['clickhouse'] },
);
