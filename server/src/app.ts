import fp from 'fastify-plugin';
import { Catalog } from './catalog.js';
import { defaultIngestLimits, type IngestLimits } from './ingest/limits.js';
import { installTokenAuth } from './http/auth.js';
import { installErrorHandler } from './http/errors.js';
import { ingestSummaryPlugin } from './http/ingest-summary.js';
import { metricsPlugin } from './http/metrics.js';
import { installUi } from './http/ui.js';
import { openApi } from './http/openapi.js';
import { agentRoutes } from './routes/agents.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { queryRoutes } from './routes/query.js';
import { metricsRoutes } from './routes/metrics.js';
import { statusRoutes } from './routes/status.js';
import { signalIngestRoutes } from './routes/signal-ingest.js';
import { spanIngestRoutes } from './routes/span-ingest.js';
import { traceRoutes } from './routes/traces.js';
import { clickhousePlugin } from './storage/clickhouse.js';
import type { StorageConfig } from './storage/config.js';
import type { SchemaContext } from './storage/ddl.js';
import { schemaPlugin } from './storage/schema.js';

export interface AppOptions {
  storage: StorageConfig;
  schema: SchemaContext;
  /** Folder with the built web UI (index.html at its top). */
  webRoot: string;
  /** When non-empty, API requests need one of these as a Bearer token. */
  authTokens: readonly string[];
  /** Ingest limits; unset fields take their defaults. */
  ingest?: Partial<IngestLimits>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What storage holds, cached: function and stack ids, series written. */
    catalog: Catalog;
  }
}

/** The whole Kiln HTTP application as one plugin: storage first, then cross-cutting hooks, then routes. */
export const buildApp = fp<AppOptions>(
  async (app, opts) => {
    await app.register(clickhousePlugin, { storage: opts.storage });
    await app.register(schemaPlugin, opts.schema);
    await app.register(metricsPlugin);
    app.decorate('catalog', new Catalog());
    await app.register(openApi);

    installErrorHandler(app);
    if (opts.authTokens.length > 0) installTokenAuth(app, opts.authTokens);

    await app.register(healthRoutes);
    await app.register(metricsRoutes);
    await app.register(statusRoutes);
    await app.register(ingestSummaryPlugin);
    const ingestLimits = { ...defaultIngestLimits, ...opts.ingest };
    await app.register(ingestRoutes, { limits: ingestLimits, concurrency: opts.storage.mode === 'embedded' ? 2 : 4 });
    const spanLimits = { maxBodyBytes: ingestLimits.maxBodyBytes, maxDecodedBytes: ingestLimits.maxProfileBytes };
    await app.register(traceRoutes, spanLimits);
    await app.register(spanIngestRoutes, spanLimits);
    await app.register(signalIngestRoutes, spanLimits);
    await app.register(queryRoutes);
    await app.register(agentRoutes);
    await installUi(app, opts.webRoot);
  },
  { name: 'kiln-app' },
);
