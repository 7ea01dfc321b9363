import fp from 'fastify-plugin';
import { installTokenAuth } from './http/auth.js';
import { installErrorHandler } from './http/errors.js';
import { metricsPlugin } from './http/metrics.js';
import { installUi } from './http/ui.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { statusRoutes } from './routes/status.js';
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
}

/** The whole Kiln HTTP application as one plugin: storage first, then cross-cutting hooks, then routes. */
export const buildApp = fp<AppOptions>(
  async (app, opts) => {
    await app.register(clickhousePlugin, { storage: opts.storage });
    await app.register(schemaPlugin, opts.schema);
    await app.register(metricsPlugin);

    installErrorHandler(app);
    if (opts.authTokens.length > 0) installTokenAuth(app, opts.authTokens);

    await app.register(healthRoutes);
    await app.register(metricsRoutes);
    await app.register(statusRoutes);
    await installUi(app, opts.webRoot);
  },
  { name: 'kiln-app' },
);
